"""Writes about workers: registration, heartbeats and lost-run recovery."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from jobs.models import JobRun, Worker
from jobs.services.leases import run_tree_end
from jobs.services.runs import MSG_LOST, MSG_ORPHANED, run_mark_lost

logger = logging.getLogger(__name__)


@transaction.atomic
def worker_register(*, name: str, host: str, pid: int, now: datetime) -> Worker:
    """Create or take over the worker row called `name`, heart-beating now.

    Runs still marked running under that name belong to an earlier process
    of the same name that died: they are marked lost (and retried per their
    job's policy), since nobody else would, the name heart-beating again.
    """
    worker, _ = Worker.objects.update_or_create(
        name=name,
        defaults={
            "host": host,
            "pid": pid,
            "started_at": now,
            "last_heartbeat_at": now,
            "stopped_at": None,
        },
    )
    orphans = JobRun.objects.filter(worker=worker, status=JobRun.Status.RUNNING)
    for run in orphans.select_related("job"):
        if not run_tree_end(run=run, host=host):
            continue  # still active: the next recovery tries again
        run_mark_lost(
            run=run,
            reason=MSG_ORPHANED.format(worker=name),
            now=now,
            reason_code=JobRun.ReasonCode.WORKER_RESTARTED,
        )
    logger.info("Worker %s registered (host %s, pid %s)", name, host, pid)
    return worker


def worker_heartbeat(
    *, worker: Worker, now: datetime, cycle_at: datetime | None = None
) -> bool:
    """Record that `worker` is alive; False if its row has disappeared.

    `cycle_at` is when it last finished a scheduling cycle (if it has).
    """
    fields: dict[str, datetime | None] = {"last_heartbeat_at": now, "stopped_at": None}
    if cycle_at is not None:
        fields["last_cycle_at"] = cycle_at
    updated = Worker.objects.filter(pk=worker.pk).update(**fields)
    worker.last_heartbeat_at = now
    worker.last_cycle_at = cycle_at or worker.last_cycle_at
    return bool(updated)


def worker_stop(*, worker: Worker, now: datetime) -> None:
    """Record that `worker` stopped cleanly."""
    Worker.objects.filter(pk=worker.pk).update(last_heartbeat_at=now, stopped_at=now)
    worker.stopped_at = now


def runs_recover_lost(
    *,
    now: datetime,
    lost_after_seconds: float,
    exclude: Worker | None = None,
    host: str = "",
) -> list[JobRun]:
    """Mark lost the running runs of workers silent for `lost_after_seconds`.

    A run is taken over only once its lease has run out too (its supervisor
    ended the script before that), or, on its own host, once its process
    tree is ended here: until then it still counts as active for its job's
    concurrency limits. Each is retried per its job's policy. Return the
    runs marked lost. A run without a worker (its row was deleted) counts
    as lost too.
    """
    cutoff = now - timedelta(seconds=lost_after_seconds)
    stale = JobRun.objects.filter(status=JobRun.Status.RUNNING).filter(
        Q(worker__isnull=True) | Q(worker__last_heartbeat_at__lt=cutoff)
    )
    if exclude is not None:
        stale = stale.exclude(worker=exclude)
    lost = []
    for run in stale.select_related("job", "worker"):
        if not _is_over(run, now=now, host=host):
            continue
        if run.worker is None:
            reason = MSG_LOST.format(worker="?", seen="never")
        else:
            seen = run.worker.last_heartbeat_at.isoformat()
            reason = MSG_LOST.format(worker=run.worker.name, seen=seen)
        run_mark_lost(run=run, reason=reason, now=now)
        if run.status == JobRun.Status.LOST:
            lost.append(run)
    return lost


def _is_over(run: JobRun, *, now: datetime, host: str) -> bool:
    """Return whether nothing of `run` can still be executing.

    On its own host its tree is ended here; elsewhere its lease must have
    run out (the supervisor fences itself at half the lease).
    """
    if host and run.host == host and run.supervisor_pid is not None:
        return run_tree_end(run=run, host=host)
    return run.lease_expires_at is None or run.lease_expires_at <= now
