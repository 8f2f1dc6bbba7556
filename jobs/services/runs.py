"""Writes to runs: queueing, and (with the worker) claiming and finishing."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from jobs.models import Job, JobRun

logger = logging.getLogger(__name__)


def job_run_now(
    *,
    job: Job,
    requested_by: AbstractBaseUser | None,
    now: datetime,
    parameters: dict[str, Any] | None = None,
    trigger: str = JobRun.Trigger.MANUAL,
) -> JobRun:
    """Queue a run of `job` for now, recording who asked for it."""
    run = JobRun(
        job=job,
        scheduled_for=now,
        attempt=1,
        trigger=trigger,
        status=JobRun.Status.QUEUED,
        queued_at=now,
        not_before=now,
        triggered_by=requested_by if requested_by and requested_by.pk else None,
        parameters=parameters or {},
    )
    run.full_clean(validate_unique=False, validate_constraints=False)
    run.save()
    logger.info("Run %s of job %s queued by %s", run.pk, job.pk, requested_by)
    return run
