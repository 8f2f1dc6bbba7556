"""Writes about workers: registration, heartbeats and lost-run recovery."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Q

from jobs import conf, process_tree, run_outcomes
from jobs.errors import JobsError
from jobs.models import JobRun, Worker
from jobs.policies import outcome_for
from jobs.runner import ProcessResult
from jobs.services import probes
from jobs.services.leases import run_saved_outcome_file, run_tree_end
from jobs.services.outcomes import RunEnd, runs_end
from jobs.services.runs import MSG_LOST, MSG_ORPHANED, run_mark_lost, run_retry

logger = logging.getLogger(__name__)

MSG_NAME_IN_USE = (
    "Worker name {name!r} is in use by process {pid} on this host (running or "
    "stopped): stop that process, or start this worker with another --name."
)
# Wall clocks may be stepped a little between a worker's start and its
# registration; a pid recycled within this long after would be refused.
NAME_CLOCK_SLACK_SECONDS = 1.0


class WorkerNameInUse(JobsError):
    """Another live process on this host is the worker of that name."""


def worker_name_check(*, name: str, host: str, pid: int) -> None:
    """Raise WorkerNameInUse if a live process of `host` is the worker `name`.

    Call on `host` itself, before `worker_register`, which would take the
    name's running runs for an earlier process's that died and end their
    process trees: a stopped (SIGSTOP) process is alive, and its runs are
    its own. The process holding the row's pid counts only if it started
    before the row was registered: a pid recycled since cannot have.
    """
    row = (
        Worker.objects.filter(name=name, host=host, stopped_at__isnull=True)
        .exclude(pid=pid)
        .only("pid", "started_at")
        .first()
    )
    if row is None:
        return
    started = process_tree.started_unix(row.pid)
    registered = row.started_at.timestamp() + NAME_CLOCK_SLACK_SECONDS
    if started is not None and started <= registered:
        raise WorkerNameInUse(MSG_NAME_IN_USE.format(name=name, pid=row.pid))


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
        if run_record_saved(run=run, host=host, worker_name=name):
            continue
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
    # Every worker asks at each heartbeat, nearly always for nothing.
    if not probes.any_run_of_a_silent_worker(
        cutoff=cutoff, exclude_worker_id=exclude.pk if exclude is not None else 0
    ):
        return []
    stale = JobRun.objects.filter(status=JobRun.Status.RUNNING).filter(
        Q(worker__isnull=True) | Q(worker__last_heartbeat_at__lt=cutoff)
    )
    if exclude is not None:
        stale = stale.exclude(worker=exclude)
    lost = []
    for run in stale.select_related("job", "worker"):
        if not _is_over(run, now=now, host=host):
            continue
        worker_name = run.worker.name if run.worker is not None else "?"
        if host and run_record_saved(run=run, host=host, worker_name=worker_name):
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


def run_record_saved(*, run: JobRun, host: str, worker_name: str) -> bool:
    """Record the outcome `run`'s supervisor saved on this host; True if done.

    For a run whose script finished but whose worker died or stalled before
    recording it: the script's real exit (succeeded, or failed with its
    code, retried per the job's policy) instead of "lost" and a retry of a
    script that already ran. Call once its process tree is ended. False if
    nothing was saved here (or the run left the running state meanwhile).
    """
    path = run_saved_outcome_file(run=run, state_dir=conf.run_state_dir(), host=host)
    saved = None if path is None else run_outcomes.outcome_read(path)
    if path is None or saved is None:
        return False
    result = ProcessResult(
        exit_code=saved.exit_code,
        timed_out=False,
        cancelled=False,
        output=run.output,
        dropped_bytes=run.output_dropped_bytes,
        duration_seconds=0.0,
    )
    outcome, mode = outcome_for(
        result, cause="", worker=worker_name, timeout_seconds=None
    )
    finished = datetime.fromtimestamp(saved.finished_at, tz=UTC)
    end = RunEnd(
        run,
        expected={"status": JobRun.Status.RUNNING, "worker_id": run.worker_id},
        changes={
            "status": outcome.status,
            "finished_at": finished,
            "exit_code": outcome.exit_code,
            "reason": outcome.reason,
            "reason_code": outcome.reason_code,
        },
    )
    with transaction.atomic():
        if not runs_end(now=finished, end=end):
            return False
        logger.warning(
            "Run %s of job %s finished (exit code %s) before its worker %s "
            "recorded it; recorded from the outcome saved on %s",
            run.pk,
            run.job_id,
            saved.exit_code,
            worker_name,
            host,
        )
        run_retry(run=run, now=finished, mode=mode)
    run_outcomes.outcome_remove(path)
    return True
