"""Claim queued runs for a worker: the hand-over from scheduling to execution.

A claim reads the first startable queued runs in claiming order (highest
priority, earliest `not_before`; a partial index holds exactly that order),
keeps those whose job is below its limit (`Job.max_concurrent`), and moves
them from queued to running on this worker in one UPDATE. Two workers can
never start the same run: on SQLite the whole claim is one write
transaction (BEGIN IMMEDIATE); on PostgreSQL the candidate runs are locked
with ``FOR UPDATE SKIP LOCKED`` (a racing worker takes others) and the jobs
involved with ``FOR NO KEY UPDATE`` in key order, because two workers could
otherwise each see room for one more run of a job. The UPDATE still
requires the queued status: should it change fewer rows than chosen, the
claim starts nothing. With JOB_PORTAL_MAX_CONCURRENT_TOTAL set, claims are
serialised (see `_cluster_room`) and take no more than the room left under
the cap across all workers.

A busy worker claims after every run that ends, so the statements are plain
SQL (see `jobs.services.probes` for why), and the claimed runs are read
with their jobs in one plain SELECT (`jobs.services.plain_sql`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction

from jobs import conf
from jobs.models import Job, JobRun, Worker
from jobs.services import plain_sql, probes

logger = logging.getLogger(__name__)

# Candidates looked at per wanted run: some belong to jobs at their limit.
SCAN_FACTOR = 4
# Reads per claim at most; each leaves out the jobs found at their limit.
SCAN_ROUNDS = 3

# The PostgreSQL advisory lock that serialises claims under a total cap
# ("JTPC" in ASCII): one number for the whole database.
CLUSTER_LOCK_KEY = 0x4A545043
RUNS = JobRun._meta.db_table
JOBS = Job._meta.db_table
QUEUED = JobRun.Status.QUEUED.value
RUNNING = JobRun.Status.RUNNING.value


@dataclass(frozen=True)
class Candidate:
    """A startable queued run, with what the per-job limit needs."""

    run_id: int
    job_id: int
    max_concurrent: int


def runs_claim(
    *, worker: Worker, now: datetime, limit: int, lease_seconds: float | None = None
) -> list[JobRun]:
    """Claim up to `limit` startable queued runs for `worker`, best first.

    The runs come with their jobs. With `lease_seconds`, each claimed run's
    lease starts now: until its supervisor is recorded, recovery cannot
    take it over before the lease has run out either (the worker's start
    fence, `jobs.runner`, is half of it).
    """
    # A plain read first: an idle cycle takes no write lock (SQLite).
    if limit <= 0 or not probes.any_run_startable(now=now):
        return []
    with transaction.atomic():
        limit = _cluster_room(limit)
        chosen = _choose(now=now, limit=limit) if limit > 0 else []
        if not chosen:
            return []
        expires = None
        if lease_seconds is not None:
            expires = now + timedelta(seconds=lease_seconds)
        won = _mark_running(chosen, worker=worker, now=now, expires=expires)
    if won != len(chosen):
        # Cannot happen while the claim holds its locks; never start a run
        # that may be another worker's.
        logger.error(
            "Claim of %s runs changed %s rows; starting none", len(chosen), won
        )
        return []
    runs = plain_sql.rows_with_parent(JobRun, "job", chosen)
    order = {run_id: index for index, run_id in enumerate(chosen)}
    result = sorted(runs, key=lambda run: order[run.pk])
    for run in result:
        logger.info("Worker %s claimed run %s of job %s", worker, run.pk, run.job_id)
    return result


def _cluster_room(limit: int) -> int:
    """Return `limit` cut to the room left under JOB_PORTAL_MAX_CONCURRENT_TOTAL.

    Claims are serialised while a cap is set, so that two workers cannot
    each see room for the same last run: on PostgreSQL by a transaction-level
    advisory lock taken before counting (READ COMMITTED gives the count a
    fresh snapshot, after the previous claimer committed); on SQLite the
    claim's transaction already holds the database's one write lock (BEGIN
    IMMEDIATE). Every running run counts, a cancelled one too until its
    process has ended.
    """
    cap = conf.max_concurrent_total()
    if cap is None:
        return limit
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CLUSTER_LOCK_KEY])
        cursor.execute(
            f"SELECT COUNT(*) FROM {RUNS} WHERE status = %s",  # noqa: S608
            [RUNNING],
        )
        (running,) = cursor.fetchone()
    return min(limit, cap - running)


def _choose(*, now: datetime, limit: int) -> list[int]:
    """Return the ids of up to `limit` runs to claim, best first."""
    chosen: list[int] = []
    full: set[int] = set()
    running: dict[int, int] = {}
    for _ in range(SCAN_ROUNDS):
        wanted = limit - len(chosen)
        candidates = _candidates(
            now=now, count=wanted * SCAN_FACTOR, skip_runs=chosen, skip_jobs=full
        )
        fresh = {c.job_id for c in candidates} - running.keys()
        running.update(_lock_and_count_running(sorted(fresh)))
        for candidate in candidates:
            if len(chosen) >= limit:
                break
            if running.get(candidate.job_id, 0) >= candidate.max_concurrent:
                full.add(candidate.job_id)
                continue
            chosen.append(candidate.run_id)
            running[candidate.job_id] = running.get(candidate.job_id, 0) + 1
        if len(chosen) >= limit or len(candidates) < wanted * SCAN_FACTOR:
            break
    return chosen


def _candidates(
    *, now: datetime, count: int, skip_runs: list[int], skip_jobs: set[int]
) -> list[Candidate]:
    """Return the first `count` startable queued runs in claiming order."""
    sql = (
        f"SELECT r.id, r.job_id, j.max_concurrent FROM {RUNS} r "  # noqa: S608
        f"JOIN {JOBS} j ON j.id = r.job_id "
        "WHERE r.status = %s AND r.not_before <= %s"
    )
    params: list[int | str | None] = [
        QUEUED,
        connection.ops.adapt_datetimefield_value(now),
    ]
    if skip_runs:
        sql += f" AND r.id NOT IN ({_marks(skip_runs)})"
        params += skip_runs
    if skip_jobs:
        sql += f" AND r.job_id NOT IN ({_marks(skip_jobs)})"
        params += sorted(skip_jobs)
    sql += " ORDER BY r.priority DESC, r.not_before, r.id LIMIT %s"
    params.append(count)
    if connection.features.has_select_for_update_skip_locked:
        sql += " FOR UPDATE OF r SKIP LOCKED"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Candidate(*row) for row in cursor.fetchall()]


def _lock_and_count_running(job_ids: list[int]) -> dict[int, int]:
    """Lock `job_ids` (PostgreSQL, in key order); return their running counts.

    A later scan round may lock a job with a lower key than an earlier one;
    should two workers then deadlock, PostgreSQL aborts one claim, which
    the worker retries at its next cycle.
    """
    if not job_ids:
        return {}
    with connection.cursor() as cursor:
        if connection.features.has_select_for_update:
            lock = (
                "FOR NO KEY UPDATE"
                if connection.features.has_select_for_no_key_update
                else "FOR UPDATE"
            )
            cursor.execute(
                f"SELECT id FROM {JOBS} WHERE id IN ({_marks(job_ids)}) "  # noqa: S608
                f"ORDER BY id {lock}",
                job_ids,
            )
        cursor.execute(
            f"SELECT job_id, COUNT(*) FROM {RUNS} "  # noqa: S608
            f"WHERE job_id IN ({_marks(job_ids)}) AND status = %s "
            "AND cancel_requested_at IS NULL GROUP BY job_id",
            [*job_ids, RUNNING],
        )
        return {job_id: count for job_id, count in cursor.fetchall()}


def _mark_running(
    run_ids: list[int], *, worker: Worker, now: datetime, expires: datetime | None
) -> int:
    """Move `run_ids` from queued to running on `worker`; return rows changed."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {RUNS} SET status = %s, worker_id = %s, started_at = %s, "  # noqa: S608
            f"lease_expires_at = %s WHERE id IN ({_marks(run_ids)}) AND status = %s",
            [
                RUNNING,
                worker.pk,
                connection.ops.adapt_datetimefield_value(now),
                connection.ops.adapt_datetimefield_value(expires),
                *run_ids,
                QUEUED,
            ],
        )
        return cursor.rowcount


def _marks(values: Iterable[object]) -> str:
    """Return one %s placeholder per value, comma-separated."""
    return ", ".join("%s" for _ in values)
