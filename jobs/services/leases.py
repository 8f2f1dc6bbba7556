"""Writes that keep a running run tied to a live process, or hand it back.

A running run records where its supervisor runs (host, boot id, pid and the
pid's start time) and holds a lease that its worker's heartbeat renews (one
UPDATE for all its runs). Recovery (`jobs.services.workers`) takes a run
over only once the lease has run out, because the supervisor ends the
script on its own before that (`jobs.supervisor`, `fence_seconds`), or once
a worker on the same host has ended the supervisor's process tree.

A run a worker claimed but never started (the database failed before the
script started, or the worker lost track of it in an outage) goes back to
the queue as it was: nothing ran, so nothing ends and no attempt is used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from django.db.models import QuerySet

from jobs import process_tree, run_outcomes
from jobs.models import JobRun, Worker
from jobs.services import plain_sql, probes

logger = logging.getLogger(__name__)

# How far back `runs_leftovers_end` looks for lost runs' process trees.
LEFTOVER_DAYS = 1


def run_supervisor_record(
    *,
    run: JobRun,
    worker: Worker,
    host: str,
    pid: int,
    now: datetime,
    lease_seconds: float | None,
) -> bool:
    """Record where `run`'s supervisor runs and start its lease; True if done.

    Nothing changes unless the run is still running on `worker`. Without
    `lease_seconds` the run has no lease (recovery goes by the heartbeat).
    """
    expires = None if lease_seconds is None else now + timedelta(seconds=lease_seconds)
    run.host = host
    run.boot_id = process_tree.boot_id()
    run.supervisor_pid = pid
    run.supervisor_started = process_tree.start_time(pid)
    run.lease_expires_at = expires
    updated = plain_sql.update_where(
        JobRun,
        pk=run.pk,
        expected={"status": JobRun.Status.RUNNING, "worker": worker},
        changes={
            "host": run.host,
            "boot_id": run.boot_id,
            "supervisor_pid": run.supervisor_pid,
            "supervisor_started": run.supervisor_started,
            "lease_expires_at": run.lease_expires_at,
        },
    )
    return bool(updated)


def runs_lease_renew(
    *, worker: Worker, run_ids: Iterable[int], now: datetime, lease_seconds: float
) -> int:
    """Renew the leases of `worker`'s running runs `run_ids`; return how many.

    One UPDATE, whatever the number of runs.
    """
    ids = list(run_ids)
    if not ids:
        return 0
    return JobRun.objects.filter(
        pk__in=ids, status=JobRun.Status.RUNNING, worker=worker
    ).update(lease_expires_at=now + timedelta(seconds=lease_seconds))


def run_hand_back(*, run: JobRun, worker: Worker) -> bool:
    """Put a run `worker` claimed but never started back in the queue.

    Return True if it was still running on `worker` (and so went back).
    """
    updated = _queue_again(
        JobRun.objects.filter(pk=run.pk, status=JobRun.Status.RUNNING, worker=worker)
    )
    if updated:
        logger.warning("Run %s of job %s handed back to the queue", run.pk, run.job_id)
    return bool(updated)


def runs_hand_back_unknown(*, worker: Worker, known: Iterable[int]) -> list[int]:
    """Hand back `worker`'s running runs that it is not executing; return them.

    `known` are the runs the worker's process executes. Any other run marked
    running on it was claimed but never started (a claim whose read-back
    failed, say): no process of it exists, so it is queued again.
    """
    # Every heartbeat asks (every 10 s), nearly always for nothing: plain SQL.
    strays = probes.runs_running_on(worker_id=worker.pk) - set(known)
    if not strays:
        return []
    _queue_again(
        JobRun.objects.filter(
            pk__in=strays, status=JobRun.Status.RUNNING, worker=worker
        )
    )
    logger.warning(
        "Worker %s had no process for running run(s) %s; handed back to the queue",
        worker,
        sorted(strays),
    )
    return sorted(strays)


def run_tree_end(*, run: JobRun, host: str) -> bool:
    """End `run`'s supervisor tree if it runs on this host; True if none is left.

    A run started elsewhere (or in another boot, or whose pid now belongs
    to another process) has nothing here to end: True. False only when a
    tree of this run was found and could not be ended.
    """
    if (
        run.supervisor_pid is None
        or run.supervisor_started is None
        or run.host != host
        or run.boot_id != process_tree.boot_id()
    ):
        return True
    ended = process_tree.tree_end(run.supervisor_pid, run.supervisor_started)
    if not ended:
        logger.error("Could not end the processes of run %s", run.pk)
    return ended


def runs_leftovers_end(*, host: str, now: datetime) -> int:
    """End the process trees left by this host's lost runs; return how many.

    For a worker starting on `host`: a supervisor of a run marked lost
    (its worker crashed, and the supervisor could not end itself) is found
    by pid and start time, so a recycled pid is never killed.
    """
    lost = JobRun.objects.filter(
        status=JobRun.Status.LOST,
        host=host,
        boot_id=process_tree.boot_id(),
        supervisor_pid__isnull=False,
        finished_at__gte=now - timedelta(days=LEFTOVER_DAYS),
    ).only("pk", "host", "boot_id", "supervisor_pid", "supervisor_started")
    ended = 0
    for run in lost:
        pid, started = run.supervisor_pid, run.supervisor_started
        if pid is None or started is None or not process_tree.is_alive(pid, started):
            continue
        if run_tree_end(run=run, host=host):
            logger.warning("Ended leftover processes of lost run %s", run.pk)
            ended += 1
    return ended


def run_saved_outcome_file(
    *, run: JobRun, state_dir: str | Path, host: str = ""
) -> Path | None:
    """Return where `run`'s supervisor saved its script's outcome, if it can.

    None when the run records no supervisor, or (given `host`) one that ran
    on another host or in another boot: its file is not here.
    """
    pid, started = run.supervisor_pid, run.supervisor_started
    if pid is None or started is None:
        return None
    if host and (run.host != host or run.boot_id != process_tree.boot_id()):
        return None
    return run_outcomes.outcome_path(state_dir, str(run.pk), pid, started)


def run_saved_outcome_remove(*, run: JobRun, state_dir: str | Path) -> None:
    """Remove `run`'s saved outcome (its result is in the database now)."""
    path = run_saved_outcome_file(run=run, state_dir=state_dir)
    if path is not None:
        run_outcomes.outcome_remove(path)


def _queue_again(runs: QuerySet[JobRun]) -> int:
    """Put `runs` back in the queue as never started; return how many."""
    return runs.update(
        status=JobRun.Status.QUEUED,
        worker=None,
        started_at=None,
        host="",
        boot_id="",
        supervisor_pid=None,
        supervisor_started=None,
        lease_expires_at=None,
    )
