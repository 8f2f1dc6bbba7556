"""Writes to runs: queueing, manual control, finishing and retrying.

Every state change is a conditional UPDATE on the run's expected state (and,
for a worker, on the run still being its own), so that a worker, a second
worker and an admin acting at once cannot both win: the loser changes
nothing and is told so. A run ends through `jobs.services.outcomes.runs_end`
only, which records its event; the retry policy is `jobs.policies`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from accounts.actors import Actor, actor_user
from accounts.models import AuditEvent
from accounts.services.audit import audit_record
from jobs import policies, reasons
from jobs.errors import JobsError
from jobs.models import Job, JobRun, Worker
from jobs.policies import Outcome, RetryMode
from jobs.selectors import ScriptBlock, job_script_block
from jobs.services.outcomes import RunEnd, run_retry_announce, runs_end
from jobs.wakeup import wakeup_notify

logger = logging.getLogger(__name__)

MSG_CANCELLED_BY = "Cancelled by {user}."
MSG_MARKED_FAILED = (
    "Marked failed by {user} while running on worker {worker} (its process, "
    "if still alive, is stopped)."
)
MSG_NOT_CANCELLABLE = (
    "Only a queued or running run can be cancelled; this one is {status}."
)
MSG_NOT_RUNNING = "Only a running run can be marked failed; this one is {status}."
MSG_LOST = "Worker {worker} stopped heart-beating (last seen {seen})."
MSG_ORPHANED = "Worker {worker} restarted while this run was running."
UNKNOWN_USER = "an unknown user"
MSG_NOT_RUNNABLE = "Not queued: {reason}"
# Runs someone asked for, which the audit log records.
AUDITED_TRIGGERS = (JobRun.Trigger.MANUAL, JobRun.Trigger.API)


class RunStateError(JobsError):
    """The run is not in a state that allows the requested change."""


class ScriptNotRunnableError(JobsError):
    """The job's script may not run, so a run asked for now would be blocked."""

    def __init__(self, block: ScriptBlock) -> None:
        super().__init__(MSG_NOT_RUNNABLE.format(reason=block.reason))
        self.block = block


def job_run_now(
    *,
    job: Job,
    requested_by: Actor,
    now: datetime,
    parameters: dict[str, Any] | None = None,
    trigger: str = JobRun.Trigger.MANUAL,
    ip: str | None = None,
) -> JobRun:
    """Queue a run of `job` for now, recording who asked for it.

    A manual or API run is audited as "run" by `requested_by` from `ip`, and
    refused (`ScriptNotRunnableError`) while the job's script may not run,
    rather than queued only to be blocked.
    """
    if trigger in AUDITED_TRIGGERS:
        block = job_script_block(job=job)
        if block is not None:
            raise ScriptNotRunnableError(block)
    run = JobRun(
        job=job,
        scheduled_for=now,
        attempt=1,
        trigger=trigger,
        status=JobRun.Status.QUEUED,
        queued_at=now,
        not_before=now,
        priority=job.priority,
        triggered_by=requested_by if requested_by and requested_by.pk else None,
        parameters=parameters or {},
    )
    run.full_clean(validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        run.save()
        if trigger in AUDITED_TRIGGERS:
            audit_record(
                actor=requested_by,
                action=AuditEvent.Action.RUN,
                target=job,
                changes={"run": [None, run.pk], "parameters": [None, run.parameters]},
                ip=ip,
                now=now,
            )
    wakeup_notify()
    logger.info("Run %s of job %s queued by %s", run.pk, job.pk, requested_by)
    return run


def run_request_cancel(
    *, run: JobRun, requested_by: Actor, now: datetime, ip: str | None = None
) -> JobRun:
    """Cancel a queued run at once, or ask the worker of a running one to stop.

    The worker running it notices within a second, ends the process group
    and records `cancelled` with this reason. Asking twice changes nothing.
    Raise `RunStateError` for a run that has already finished.
    """
    user = _user(requested_by)
    reason = MSG_CANCELLED_BY.format(user=_user_name(requested_by))
    code = JobRun.ReasonCode.CANCELLED_BY_USER
    fields = {
        "cancel_requested_at": now,
        "cancel_requested_by": user,
        "reason": reason,
        "reason_code": code,
    }
    end = RunEnd(
        run,
        expected={"status": JobRun.Status.QUEUED},
        changes={"status": JobRun.Status.CANCELLED, "finished_at": now, **fields},
    )
    if runs_end(now=now, end=end):
        logger.info("Queued run %s cancelled by %s", run.pk, requested_by)
    elif JobRun.objects.filter(
        pk=run.pk, status=JobRun.Status.RUNNING, cancel_requested_at__isnull=True
    ).update(
        cancel_requested_at=now,
        cancel_requested_by=user,
        reason=reason,
        reason_code=code,
    ):
        logger.info("Cancel of running run %s requested by %s", run.pk, requested_by)
        wakeup_notify()
    run.refresh_from_db()
    if run.status != JobRun.Status.CANCELLED and run.cancel_requested_at is None:
        raise RunStateError(MSG_NOT_CANCELLABLE.format(status=run.status))
    _audit_run_control(run, requested_by, AuditEvent.Action.CANCEL, now=now, ip=ip)
    return run


def run_mark_failed(
    *, run: JobRun, requested_by: Actor, now: datetime, ip: str | None = None
) -> JobRun:
    """Mark a running run failed at once, e.g. when its worker is dead.

    No retry follows. Should its worker be alive after all, it stops the
    process at its next cycle and its late result is not recorded. Raise
    `RunStateError` unless the run is running.
    """
    worker = run.worker.name if run.worker else "?"
    reason = MSG_MARKED_FAILED.format(user=_user_name(requested_by), worker=worker)
    end = RunEnd(
        run,
        expected={"status": JobRun.Status.RUNNING},
        changes={
            "status": JobRun.Status.FAILED,
            "finished_at": now,
            "reason": reason,
            "reason_code": JobRun.ReasonCode.MARKED_FAILED,
        },
    )
    ended = runs_end(now=now, end=end)
    run.refresh_from_db()
    if not ended:
        raise RunStateError(MSG_NOT_RUNNING.format(status=run.status))
    _audit_run_control(run, requested_by, AuditEvent.Action.UPDATE, now=now, ip=ip)
    logger.info("Run %s marked failed by %s", run.pk, requested_by)
    wakeup_notify()
    return run


def run_finish(
    *,
    run: JobRun,
    worker: Worker,
    outcome: Outcome,
    now: datetime,
    retry: RetryMode = RetryMode.POLICY,
) -> JobRun | None:
    """Record how `run` ended and queue a retry if due; return the retry.

    Record nothing (and log why) if the run is no longer running on
    `worker`: another worker marked it lost, or an admin marked it failed.
    """
    fields: dict[str, Any] = {
        "status": outcome.status,
        "finished_at": now,
        "exit_code": outcome.exit_code,
        "output": outcome.output,
        "output_dropped_bytes": outcome.dropped_bytes,
        "reason": outcome.reason,
        "reason_code": outcome.reason_code,
    }
    with transaction.atomic():
        if outcome.status == JobRun.Status.CANCELLED:
            # Keep the reason given when the cancel was requested.
            stored = JobRun.objects.filter(pk=run.pk).values_list(
                "reason", "reason_code"
            )
            reason, code = stored.first() or ("", "")
            fields["reason"] = reason or outcome.reason
            fields["reason_code"] = code or outcome.reason_code
        expected = {"status": JobRun.Status.RUNNING, "worker": worker}
        if not runs_end(now=now, end=RunEnd(run, expected, fields)):
            logger.warning(
                "Run %s was no longer running on %s; its result (%s) is dropped",
                run.pk,
                worker,
                outcome.status,
            )
            return None
        return run_retry(run=run, now=now, mode=retry)


def run_block(*, run: JobRun, worker: Worker, reason: str, now: datetime) -> bool:
    """Record that a claimed run may not start, and why; True if recorded.

    A `jobs.reasons.CodedReason` gives its code; plain text reads as
    ``script_blocked``.
    """
    end = RunEnd(
        run,
        expected={"status": JobRun.Status.RUNNING, "worker": worker},
        changes={
            "status": JobRun.Status.BLOCKED,
            "started_at": None,
            "finished_at": now,
            "reason": str(reason),
            "reason_code": reasons.code_of(reason, default=reasons.SCRIPT_BLOCKED),
        },
    )
    return bool(runs_end(now=now, end=end))


def run_flush_output(
    *, run: JobRun, worker: Worker, output: str, dropped_bytes: int
) -> None:
    """Store the output of a running run so far, for the admin to show."""
    JobRun.objects.filter(
        pk=run.pk, status=JobRun.Status.RUNNING, worker=worker
    ).update(output=output, output_dropped_bytes=dropped_bytes)


def run_mark_lost(
    *,
    run: JobRun,
    reason: str,
    now: datetime,
    retry: RetryMode = RetryMode.POLICY,
    reason_code: str = JobRun.ReasonCode.WORKER_LOST,
) -> JobRun | None:
    """Mark a running run of a dead worker lost; return its retry, if any.

    Does nothing if the run left that state or worker meanwhile.
    """
    end = RunEnd(
        run,
        expected={"status": JobRun.Status.RUNNING, "worker_id": run.worker_id},
        changes={
            "status": JobRun.Status.LOST,
            "finished_at": now,
            "reason": reason,
            "reason_code": reason_code,
        },
    )
    with transaction.atomic():
        if not runs_end(now=now, end=end):
            return None
        logger.warning("Run %s of job %s lost: %s", run.pk, run.job_id, reason)
        return run_retry(run=run, now=now, mode=retry)


# --- retries -----------------------------------------------------------------


def is_retryable(*, job: Job, status: str, exit_code: int | None) -> bool:
    """Return whether the job's policy retries a run that ended so."""
    return policies.is_retryable(
        status=status,
        exit_code=exit_code,
        retry_exit_codes=job.retry_exit_codes or [],
        retry_on_timeout=job.retry_on_timeout,
        retry_on_lost=job.retry_on_lost,
    )


def run_retry(
    *, run: JobRun, now: datetime, mode: RetryMode = RetryMode.POLICY
) -> JobRun | None:
    """Queue the next attempt of a finished run if its job's policy says so."""
    job = run.job
    if mode is RetryMode.NEVER:
        return None
    if mode is RetryMode.INTERRUPTED:
        # Not the script's failure: retry at once, outside the attempt count.
        if not job.retry_on_lost:
            return None
        not_before = now
    else:
        if not is_retryable(job=job, status=run.status, exit_code=run.exit_code):
            return None
        if run.attempt >= job.retry_max_attempts:
            logger.info("Run %s: no attempts left", run.pk)
            return None
        delay = policies.retry_delay_seconds(
            attempt=run.attempt,
            delay_seconds=job.retry_delay_seconds,
            backoff=job.retry_backoff,
            max_delay_seconds=job.retry_max_delay_seconds,
        )
        not_before = now + timedelta(seconds=delay)
        if _past_retry_window(run, not_before=not_before):
            logger.info("Run %s: retry window of job %s is over", run.pk, job.pk)
            return None
    retry = JobRun.objects.create(
        job=job,
        scheduled_for=run.scheduled_for,
        attempt=run.attempt + 1,
        trigger=JobRun.Trigger.RETRY,
        status=JobRun.Status.QUEUED,
        queued_at=now,
        not_before=not_before,
        priority=job.priority,
        triggered_by=run.triggered_by,
        parameters=run.parameters,
    )
    run_retry_announce(retry=retry, now=now)
    logger.info(
        "Run %s of job %s will retry as run %s (attempt %s) at %s",
        run.pk,
        job.pk,
        retry.pk,
        retry.attempt,
        not_before.isoformat(),
    )
    return retry


def _past_retry_window(run: JobRun, *, not_before: datetime) -> bool:
    """Return True if a retry at `not_before` is too long after attempt 1."""
    limit = run.job.retry_max_total_seconds
    if limit is None:
        return False
    first_start = (
        JobRun.objects.filter(
            job_id=run.job_id, scheduled_for=run.scheduled_for, attempt=1
        )
        .values_list("started_at", flat=True)
        .first()
    )
    start = first_start or run.started_at or run.scheduled_for
    return not_before > start + timedelta(seconds=limit)


def _audit_run_control(
    run: JobRun, actor: Actor, action: str, *, now: datetime, ip: str | None
) -> None:
    """Record an operator's cancel or mark-failed of a run on its job."""
    audit_record(
        actor=actor,
        action=action,
        target=run.job,
        changes={
            "run": [run.pk, run.pk],
            "status": [None, run.status],
            "reason": [None, run.reason],
        },
        ip=ip,
        now=now,
    )


def _user(user: Actor) -> User | None:
    return actor_user(user)


def _user_name(user: Actor) -> str:
    saved = actor_user(user)
    return UNKNOWN_USER if saved is None else saved.get_username()
