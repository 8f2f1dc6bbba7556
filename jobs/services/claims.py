"""Claim queued runs for a worker: the hand-over from scheduling to execution.

A claim is a conditional UPDATE (queued -> running, on this worker) that
counts only if it changed exactly one row, so two workers can never start
the same run. The per-job limit (`Job.max_concurrent`) is checked in the
same transaction; on PostgreSQL the jobs involved are locked first (in key
order, so that claimers cannot deadlock), because two workers could
otherwise each see room for one more run of a job.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from jobs.models import Job, JobRun, Worker

logger = logging.getLogger(__name__)

# Candidates looked at per claimed run: some belong to jobs at their limit.
SCAN_FACTOR = 4


def runs_claimable(*, now: datetime, limit: int) -> list[tuple[int, int, int]]:
    """Return (run, job, job's max_concurrent) of startable queued runs.

    Highest job priority first, then the earliest `not_before`. Runs of jobs
    already at their limit are left out.
    """
    running = (
        JobRun.objects.filter(
            job=OuterRef("job"),
            status=JobRun.Status.RUNNING,
            cancel_requested_at__isnull=True,
        )
        .order_by()
        .values("job")
        .annotate(count=Count("pk"))
        .values("count")
    )
    queryset = (
        JobRun.objects.filter(status=JobRun.Status.QUEUED, not_before__lte=now)
        .annotate(
            job_running=Coalesce(
                Subquery(running, output_field=IntegerField()), Value(0)
            )
        )
        .filter(job_running__lt=F("job__max_concurrent"))
        .order_by("-job__priority", "not_before", "pk")
        .values_list("pk", "job_id", "job__max_concurrent")
    )
    return list(queryset[: limit * SCAN_FACTOR])


def runs_claim(*, worker: Worker, now: datetime, limit: int) -> list[JobRun]:
    """Claim up to `limit` startable queued runs for `worker`, best first."""
    if limit <= 0:
        return []
    # A plain read first: an idle cycle takes no write lock (SQLite).
    startable = JobRun.objects.filter(status=JobRun.Status.QUEUED, not_before__lte=now)
    if not startable.exists():
        return []
    claimed: list[int] = []
    with transaction.atomic():
        candidates = runs_claimable(now=now, limit=limit)
        if not candidates:
            return []
        job_ids = sorted({job_id for _, job_id, _ in candidates})
        if connection.features.has_select_for_update:
            no_key = connection.features.has_select_for_no_key_update
            locked = Job.objects.select_for_update(no_key=no_key).filter(pk__in=job_ids)
            list(locked.order_by("pk").values_list("pk", flat=True))
        running = dict(
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
        for run_id, job_id, max_concurrent in candidates:
            if len(claimed) >= limit:
                break
            if running.get(job_id, 0) >= max_concurrent:
                continue
            won = JobRun.objects.filter(pk=run_id, status=JobRun.Status.QUEUED).update(
                status=JobRun.Status.RUNNING, worker=worker, started_at=now
            )
            if won == 1:
                claimed.append(run_id)
                running[job_id] = running.get(job_id, 0) + 1
    runs = JobRun.objects.filter(pk__in=claimed).select_related("job")
    order = {run_id: index for index, run_id in enumerate(claimed)}
    result = sorted(runs, key=lambda run: order[run.pk])
    for run in result:
        logger.info("Worker %s claimed run %s of job %s", worker, run.pk, run.job_id)
    return result
