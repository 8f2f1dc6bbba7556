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
claim starts nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, prefetch_related_objects

from jobs.models import Job, JobRun, Worker
from jobs.services import probes

logger = logging.getLogger(__name__)

# Candidates looked at per wanted run: some belong to jobs at their limit.
SCAN_FACTOR = 4
# Reads per claim at most; each leaves out the jobs found at their limit.
SCAN_ROUNDS = 3


def runs_claim(*, worker: Worker, now: datetime, limit: int) -> list[JobRun]:
    """Claim up to `limit` startable queued runs for `worker`, best first.

    The runs come with their jobs, and the jobs' parameters and secrets, so
    that preparing them reads nothing more.
    """
    # A plain read first: an idle cycle takes no write lock (SQLite).
    if limit <= 0 or not probes.any_run_startable(now=now):
        return []
    with transaction.atomic():
        chosen = _choose(now=now, limit=limit)
        if not chosen:
            return []
        won = JobRun.objects.filter(
            pk__in=[run.pk for run in chosen], status=JobRun.Status.QUEUED
        ).update(status=JobRun.Status.RUNNING, worker=worker, started_at=now)
    if won != len(chosen):
        # Cannot happen while the claim holds its locks; never start a run
        # that may be another worker's.
        logger.error(
            "Claim of %s runs changed %s rows; starting none", len(chosen), won
        )
        return []
    for run in chosen:
        run.status, run.worker, run.started_at = JobRun.Status.RUNNING, worker, now
        logger.info("Worker %s claimed run %s of job %s", worker, run.pk, run.job_id)
    prefetch_related_objects([run.job for run in chosen], "parameters", "secrets")
    return chosen


def _choose(*, now: datetime, limit: int) -> list[JobRun]:
    """Return up to `limit` runs to claim, best first (inside the transaction)."""
    chosen: list[JobRun] = []
    full: set[int] = set()
    running: dict[int, int] = {}
    for _ in range(SCAN_ROUNDS):
        wanted = limit - len(chosen)
        candidates = _candidates(
            now=now,
            count=wanted * SCAN_FACTOR,
            skip_runs={r.pk for r in chosen},
            skip_jobs=full,
        )
        fresh = {run.job_id for run in candidates} - running.keys()
        running.update(_lock_and_count_running(sorted(fresh)))
        for run in candidates:
            if len(chosen) >= limit:
                break
            if running.get(run.job_id, 0) >= run.job.max_concurrent:
                full.add(run.job_id)
                continue
            chosen.append(run)
            running[run.job_id] = running.get(run.job_id, 0) + 1
        if len(chosen) >= limit or len(candidates) < wanted * SCAN_FACTOR:
            break
    return chosen


def _candidates(
    *, now: datetime, count: int, skip_runs: set[int], skip_jobs: set[int]
) -> list[JobRun]:
    """Return the first `count` startable queued runs, with their jobs."""
    queryset = JobRun.objects.filter(status=JobRun.Status.QUEUED, not_before__lte=now)
    if skip_runs:
        queryset = queryset.exclude(pk__in=skip_runs)
    if skip_jobs:
        queryset = queryset.exclude(job_id__in=skip_jobs)
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    queryset = queryset.select_related("job").order_by("-priority", "not_before", "pk")
    return list(queryset[:count])


def _lock_and_count_running(job_ids: list[int]) -> dict[int, int]:
    """Lock `job_ids` (PostgreSQL, in key order); return their running counts.

    A later scan round may lock a job with a lower key than an earlier one;
    should two workers then deadlock, PostgreSQL aborts one claim, which
    the worker retries at its next cycle.
    """
    if not job_ids:
        return {}
    if connection.features.has_select_for_update:
        no_key = connection.features.has_select_for_no_key_update
        locked = Job.objects.select_for_update(no_key=no_key).filter(pk__in=job_ids)
        list(locked.order_by("pk").values_list("pk", flat=True))
    return dict(
        JobRun.objects.filter(
            job_id__in=job_ids,
            status=JobRun.Status.RUNNING,
            cancel_requested_at__isnull=True,
        )
        .order_by()
        .values("job_id")
        .annotate(count=Count("pk"))
        .values_list("job_id", "count")
    )
