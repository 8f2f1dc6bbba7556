"""Reads that span relations or need tuned querysets (admin, API, commands)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from jobs import schedule as engine
from jobs.models import Job, JobRun, Schedule

# The "never run" choice of the last-status filter; not a JobRun status.
NEVER_RUN = "never"


def jobs_with_last_run(queryset: QuerySet[Job]) -> QuerySet[Job]:
    """Annotate each job with its latest run's `last_run_status` and `_id`.

    The latest run is the one for the latest slot (and its latest attempt),
    which the (job, -scheduled_for) index serves without sorting every run.
    Schedules are prefetched so that describing them costs one query.
    """
    latest = JobRun.objects.filter(job=OuterRef("pk")).order_by(
        "-scheduled_for", "-attempt", "-pk"
    )
    return queryset.annotate(
        last_run_status=Subquery(latest.values("status")[:1]),
        last_run_id=Subquery(latest.values("pk")[:1]),
    ).prefetch_related("schedules")


def jobs_with_last_status(queryset: QuerySet[Job], *, status: str) -> QuerySet[Job]:
    """Keep the jobs whose latest run has `status` (or never ran: NEVER_RUN).

    `queryset` must come from `jobs_with_last_run`.
    """
    if status == NEVER_RUN:
        return queryset.filter(last_run_status__isnull=True)
    return queryset.filter(last_run_status=status)


def jobs_with_schedule_type(queryset: QuerySet[Job], *, kind: str) -> QuerySet[Job]:
    """Keep the jobs that have at least one schedule of type `kind`."""
    of_kind = Schedule.objects.filter(job=OuterRef("pk"), document__type=kind)
    return queryset.filter(Exists(of_kind))


def schedule_fire_times(
    *,
    documents: Sequence[Any],
    timezone: str,
    after: datetime,
    count: int,
) -> list[engine.FireTime]:
    """Return the next `count` distinct fire instants of `documents` after `after`.

    Raise `jobs.schedule.ScheduleError` when a document (or `timezone`) is
    invalid.
    """
    schedules = [
        engine.parse_schedule(document, default_timezone=timezone)
        for document in documents
    ]
    return engine.merged_fire_times(schedules, after, count)


def job_upcoming_fire_times(
    *, job: Job, after: datetime, count: int
) -> list[engine.FireTime]:
    """Return the saved job's next `count` fire instants after `after`.

    An inactive job still answers, so that the admin can show what would run.
    """
    return schedule_fire_times(
        documents=job.schedule_documents(),
        timezone=job.timezone,
        after=after,
        count=count,
    )
