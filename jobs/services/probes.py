"""Cheap reads on the worker's hot path: is anything due, and when next.

The worker asks these on every cycle (after every run that ends, under
load). Each is a single indexed lookup that the database answers in
microseconds, while building the same query through the ORM costs ten
times that in Python (bench/, "throughput"), so they are plain SQL: fixed
statements over the tables' own columns, with bound parameters.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.utils.dateparse import parse_datetime

from jobs.models import Job, JobParameter, JobRun, Worker

QUEUED = JobRun.Status.QUEUED.value
RUNNING = JobRun.Status.RUNNING.value


def any_job_due(*, now: datetime) -> bool:
    """Return True if an active job's next slot is at or before `now`."""
    sql = (
        f"SELECT 1 FROM {Job._meta.db_table} "  # noqa: S608 - table names only
        "WHERE is_active = %s AND next_run_at <= %s LIMIT 1"
    )
    return _fetch(sql, [True, now]) is not None


def any_run_startable(*, now: datetime) -> bool:
    """Return True if a queued run may start at `now`."""
    sql = (
        f"SELECT 1 FROM {JobRun._meta.db_table} "  # noqa: S608 - table names only
        "WHERE status = %s AND not_before <= %s LIMIT 1"
    )
    return _fetch(sql, [QUEUED, now]) is not None


def next_instants(*, after: datetime) -> tuple[datetime | None, datetime | None]:
    """Return the earliest slot and queued run's `not_before` strictly after `after`.

    The slot of an active job; the run's status queued. One statement, two
    index reads (the loop asks every cycle).
    """
    sql = (
        f"SELECT (SELECT MIN(next_run_at) FROM {Job._meta.db_table} "  # noqa: S608
        "WHERE is_active = %s AND next_run_at > %s), "
        f"(SELECT MIN(not_before) FROM {JobRun._meta.db_table} "
        "WHERE status = %s AND not_before > %s)"
    )
    row = _fetch(sql, [True, after, QUEUED, after])
    if row is None:
        return None, None
    return _datetime(row[0]), _datetime(row[1])


def any_run_of_a_silent_worker(*, cutoff: datetime, exclude_worker_id: int) -> bool:
    """Return True if a run is running on no worker, or on one silent since `cutoff`.

    Leaving out worker `exclude_worker_id` (the asking worker's own runs).
    """
    sql = (
        f"SELECT 1 FROM {JobRun._meta.db_table} r "  # noqa: S608 - table names only
        f"LEFT JOIN {Worker._meta.db_table} w ON w.id = r.worker_id "
        "WHERE r.status = %s AND (r.worker_id IS NULL OR "
        "(w.last_heartbeat_at < %s AND r.worker_id <> %s)) LIMIT 1"
    )
    return _fetch(sql, [RUNNING, cutoff, exclude_worker_id]) is not None


def runs_running_on(*, worker_id: int) -> set[int]:
    """Return the ids of the runs marked running on worker `worker_id`."""
    sql = (
        f"SELECT id FROM {JobRun._meta.db_table} "  # noqa: S608 - table names only
        "WHERE worker_id = %s AND status = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [worker_id, RUNNING])
        return {run_id for (run_id,) in cursor.fetchall()}


def job_has_parameters(*, job_id: int) -> bool:
    """Return True if the job declares any parameter."""
    table = JobParameter._meta.db_table
    sql = f"SELECT 1 FROM {table} WHERE job_id = %s LIMIT 1"  # noqa: S608
    return _fetch(sql, [job_id]) is not None


def job_has_secrets(*, job_id: int) -> bool:
    """Return True if the job is given any secret."""
    table = Job.secrets.through._meta.db_table
    sql = f"SELECT 1 FROM {table} WHERE job_id = %s LIMIT 1"  # noqa: S608
    return _fetch(sql, [job_id]) is not None


def _fetch(
    sql: str, params: list[bool | int | str | datetime]
) -> tuple[object, ...] | None:
    # Datetimes as the ORM writes them (SQLite: naive UTC text).
    adapt = connection.ops.adapt_datetimefield_value
    values = [adapt(p) if isinstance(p, datetime) else p for p in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row: tuple[object, ...] | None = cursor.fetchone()
        return row


def _datetime(value: object) -> datetime | None:
    """Return a column's datetime as an aware UTC datetime (SQLite: text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
