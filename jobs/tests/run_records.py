"""Run and worker rows for tests of the pages and endpoints that show runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jobs.models import Job, JobRun, Worker

SLOT = datetime(2026, 2, 28, 1, tzinfo=UTC)


def make_worker(name: str) -> Worker:
    """Return a live worker on host-a that started an hour before SLOT."""
    return Worker.objects.create(
        name=name,
        host="host-a",
        pid=4242,
        started_at=SLOT - timedelta(hours=1),
        last_heartbeat_at=SLOT,
    )


def make_run(job: Job, **fields: Any) -> JobRun:
    """Record a run of `job`: by default it succeeded after 83 s, 1 s late."""
    values: dict[str, Any] = {
        "scheduled_for": SLOT,
        "trigger": JobRun.Trigger.SCHEDULE,
        "status": JobRun.Status.SUCCEEDED,
        "queued_at": SLOT,
        "not_before": SLOT,
        "started_at": SLOT + timedelta(seconds=1),
        "finished_at": SLOT + timedelta(seconds=84),
        "exit_code": 0,
    }
    values.update(fields)
    return JobRun.objects.create(job=job, **values)
