"""`runs_queue_batch` and `jobs_run_now`: many runs, one transaction, one event."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User

from accounts.models import AuditEvent
from jobs.models import JobRun
from jobs.selectors import job_script_block
from jobs.services.batch_runs import (
    BATCH_TARGET_TYPE,
    BatchRun,
    jobs_run_now,
    runs_queue_batch,
)
from jobs.services.runs import job_run_now
from jobs.services.scripts import script_sync_path
from jobs.tests.factories import JobFactory
from jobs.tests.security_helpers import approved_script

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripts_dir")]

IP = "192.0.2.7"


def run_fields(run: JobRun) -> dict[str, Any]:
    """Return what a queued run records, without its id and job."""
    return {
        "status": run.status,
        "trigger": run.trigger,
        "attempt": run.attempt,
        "scheduled_for": run.scheduled_for,
        "queued_at": run.queued_at,
        "not_before": run.not_before,
        "priority": run.priority,
        "triggered_by": run.triggered_by,
        "parameters": run.parameters,
    }


def run_events() -> list[AuditEvent]:
    """Return the audited runs."""
    return list(AuditEvent.objects.filter(action=AuditEvent.Action.RUN))


def test_runs_queue_batch_records_the_api_trigger_by_default(
    admin_user: User, now: datetime
) -> None:
    """`POST /api/runs` passes no trigger: its runs read "api"."""
    [run] = runs_queue_batch(
        items=[BatchRun(JobFactory.create())], requested_by=admin_user, now=now
    )
    assert run.trigger == JobRun.Trigger.API


def test_jobs_run_now_queues_what_job_run_now_queues_for_each_job(
    admin_user: User, now: datetime
) -> None:
    """Manual trigger, the user, the job's priority, default parameters, now."""
    high = JobFactory.create(name="high", priority=8)
    low = JobFactory.create(name="low", priority=2)
    one = job_run_now(job=JobFactory.create(), requested_by=admin_user, now=now)

    batch = jobs_run_now(jobs=[high, low], requested_by=admin_user, now=now, ip=IP)

    assert batch.refused == []
    assert [run.job for run in batch.runs] == [high, low]
    high_run, low_run = JobRun.objects.filter(job__in=[high, low]).order_by("pk")
    assert run_fields(high_run) == {**run_fields(one), "priority": 8}
    assert run_fields(low_run) == {**run_fields(one), "priority": 2}


def test_jobs_run_now_records_one_audit_event_for_the_batch(
    admin_user: User, now: datetime
) -> None:
    """Three jobs, one transaction: one "run" event listing runs and jobs."""
    jobs = JobFactory.create_batch(3)

    batch = jobs_run_now(jobs=jobs, requested_by=admin_user, now=now, ip=IP)

    [event] = run_events()
    assert (event.actor, event.ip, event.target_type) == (
        admin_user,
        IP,
        BATCH_TARGET_TYPE,
    )
    assert event.changes == {
        "runs": [None, [run.pk for run in batch.runs]],
        "jobs": [None, sorted(job.pk for job in jobs)],
    }


@pytest.mark.usefixtures("require_approval")
def test_jobs_run_now_refuses_blocked_jobs_and_queues_the_others(
    admin_user: User, now: datetime
) -> None:
    """The blocked job comes back with its block; the others form the batch."""
    script_sync_path(path="ok.py", now=now)
    approved_script("fail.py", by=admin_user, now=now)
    blocked = JobFactory.create(name="blocked", script="ok.py")
    first = JobFactory.create(name="first", script="fail.py")
    second = JobFactory.create(name="second", script="fail.py")

    batch = jobs_run_now(
        jobs=[first, blocked, second], requested_by=admin_user, now=now
    )

    assert batch.refused == [(blocked, job_script_block(job=blocked))]
    assert [run.job for run in batch.runs] == [first, second]
    assert len(run_events()) == 1


@pytest.mark.usefixtures("require_approval")
def test_jobs_run_now_writes_nothing_when_every_job_is_blocked(
    admin_user: User, now: datetime
) -> None:
    """No runnable job: no run and no audit event."""
    script_sync_path(path="ok.py", now=now)
    blocked = JobFactory.create(script="ok.py")

    batch = jobs_run_now(jobs=[blocked], requested_by=admin_user, now=now)

    assert [job for job, _ in batch.refused] == [blocked]
    assert batch.runs == []
    assert JobRun.objects.exists() is False
    assert run_events() == []


def test_jobs_run_now_gives_a_job_already_run_this_instant_the_next_slot(
    admin_user: User, now: datetime
) -> None:
    """A second run of a job at the same instant moves on a microsecond."""
    job = JobFactory.create()
    first = job_run_now(job=job, requested_by=admin_user, now=now)

    [second] = jobs_run_now(jobs=[job], requested_by=admin_user, now=now).runs

    assert first.scheduled_for == now
    assert second.scheduled_for == now + timedelta(microseconds=1)
