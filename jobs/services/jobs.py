"""Writes to jobs: the admin, the API and the commands all call these."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from jobs import schedule as engine
from jobs.models import Job, Schedule

logger = logging.getLogger(__name__)

MSG_NO_SCHEDULES = "A job needs at least one schedule (use type 'manual' for none)."

# Job fields a job document may set (schedules are handled apart).
JOB_FIELDS = (
    "name",
    "description",
    "script",
    "args",
    "env",
    "working_dir",
    "timezone",
    "is_active",
    "priority",
    "timeout_seconds",
    "retry_max_attempts",
    "retry_delay_seconds",
    "retry_backoff",
    "retry_max_delay_seconds",
    "retry_exit_codes",
    "retry_on_timeout",
    "retry_on_lost",
    "retry_max_total_seconds",
    "concurrency_policy",
    "max_concurrent",
    "misfire_policy",
    "misfire_grace_seconds",
)


def next_run_for(job: Job, *, after: datetime) -> engine.FireTime | None:
    """Return the job's first fire instant strictly after `after`, if any."""
    return engine.next_fire(job.parsed_schedules(), after)


def job_schedule_refresh(*, job: Job, now: datetime) -> Job:
    """Recompute and store `next_run_at` after a change to when a job runs.

    Called whenever schedules, timezone or `is_active` change. An inactive
    job, or one with only manual schedules, has no next run. A schedule the
    engine cannot handle is recorded in `schedule_error` instead of raising,
    so that one bad job cannot stop the others.
    """
    next_run_at = None
    error = ""
    if job.is_active:
        try:
            fire = next_run_for(job, after=now)
        except (engine.ScheduleError, ValueError) as exc:
            error = str(exc)
            logger.warning("Job %s has an unusable schedule: %s", job.pk, exc)
        else:
            next_run_at = fire.at if fire else None
    Job.objects.filter(pk=job.pk).update(next_run_at=next_run_at, schedule_error=error)
    job.next_run_at, job.schedule_error = next_run_at, error
    return job


def schedules_validate(
    documents: Sequence[Any], *, timezone: str
) -> list[dict[str, Any]]:
    """Validate schedule documents and return them normalised.

    Raise `ValidationError` keyed by "schedules" with the engine's message,
    prefixed by the schedule's position when there are several.
    """
    if not isinstance(documents, list | tuple) or not documents:
        raise ValidationError({"schedules": [MSG_NO_SCHEDULES]})
    normalised = []
    for index, document in enumerate(documents):
        try:
            parsed = engine.parse_schedule(document, default_timezone=timezone)
        except engine.ScheduleError as exc:
            where = f"schedule {index + 1}: " if len(documents) > 1 else ""
            raise ValidationError({"schedules": [f"{where}{exc}"]}) from None
        normalised.append(parsed.document)
    return normalised


@transaction.atomic
def job_save(
    *,
    job: Job,
    schedules: Sequence[dict[str, Any]] | None,
    now: datetime,
) -> Job:
    """Validate and save `job`, replace its schedules if given, refresh next run.

    `schedules=None` keeps the existing schedules (for example when only the
    description changed). Raise `ValidationError` and write nothing when any
    part is invalid.
    """
    job.full_clean()
    documents = None
    if schedules is not None:
        documents = schedules_validate(list(schedules), timezone=job.timezone)
    elif job.pk is None:
        raise ValidationError({"schedules": [MSG_NO_SCHEDULES]})
    job.save()
    if documents is not None:
        job.schedules.all().delete()
        Schedule.objects.bulk_create(
            Schedule(job=job, document=doc, position=i)
            for i, doc in enumerate(documents)
        )
    return job_schedule_refresh(job=job, now=now)


def job_set_active(*, job: Job, is_active: bool, now: datetime) -> Job:
    """Activate or deactivate a job and recompute its next run."""
    job.is_active = is_active
    job.save(update_fields=["is_active", "updated_at"])
    return job_schedule_refresh(job=job, now=now)
