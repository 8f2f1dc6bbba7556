"""Execute one claimed run in the calling thread and record how it ended.

`RunExecutor.execute` is the worker's per-run boundary: whatever goes wrong
while handling one run is logged and recorded on that run, and the worker
goes on. Writes that meet a database outage are retried with a bounded
backoff until they succeed or the worker gives up at shutdown.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from django.db import (
    DatabaseError,
    InterfaceError,
    InternalError,
    OperationalError,
    close_old_connections,
    connection,
    connections,
)

from jobs import conf, hooks, reasons, run_outcomes
from jobs.models import JobRun, Worker
from jobs.policies import (
    CAUSE_SHUTDOWN,
    MSG_WORKER_ERROR,
    Outcome,
    RetryMode,
    outcome_for,
)
from jobs.runner import Lease, ProcessResult, run_process
from jobs.services import artifacts, execution, leases, runs

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What a database outage raises. InternalError too: PostgreSQL ends a
# session left idle in a transaction (a worker stopped or stalled there, see
# IDLE_IN_TRANSACTION_SECONDS) with SQLSTATE 25P03, which arrives as an
# InternalError at the next statement or COMMIT, and a session broken inside
# a transaction answers "current transaction is aborted" (25P02) the same way.
DB_ERRORS = (OperationalError, InterfaceError, InternalError)
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
# PostgreSQL ends a worker's session left idle inside a transaction this
# long (a stopped or hung worker), so that its row locks free the others.
IDLE_IN_TRANSACTION_SECONDS = 5.0


@dataclass
class InFlight:
    """A run being executed, how to stop it (and why), and its lease."""

    run_id: int
    cancel: threading.Event = field(default_factory=threading.Event)
    cause: str = ""
    # Set once its outcome is recorded: the slot may still be held while the
    # thread claims the next run, but there is nothing left to stop.
    finished: bool = False
    future: Any = None
    lease: Lease = field(default_factory=lambda: Lease(time.monotonic()))


def backoff_seconds(failures: int) -> float:
    """Return the pause after `failures` failed attempts in a row (bounded)."""
    return min(BACKOFF_FIRST_SECONDS * 2.0 ** max(failures - 1, 0), BACKOFF_MAX_SECONDS)


class RunExecutor:
    """Run claimed runs' processes and record their outcomes."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        abandon: threading.Event,
        python: str | None = None,
        kill_grace_seconds: float = 5.0,
        output_interval_seconds: float = 1.0,
        lease_seconds: float | None = None,
        host: str = "",
        state_dir: str | None = None,
    ) -> None:
        """Configure; `abandon` set means: stop retrying failed writes.

        With `lease_seconds`, each run's supervisor ends its script when
        the lease goes unrenewed for half of that (`jobs.supervisor`).
        With `state_dir`, it saves its script's outcome there until the
        result is recorded (`jobs.run_outcomes`).
        """
        self.clock = clock
        self.abandon = abandon
        # The interpreter of .py jobs: JOB_PORTAL_PYTHON unless given.
        self.python = python or conf.job_python()
        self.kill_grace_seconds = kill_grace_seconds
        self.output_interval_seconds = output_interval_seconds
        self.lease_seconds = lease_seconds
        self.host = host
        self.state_dir = state_dir

    def execute(self, run: JobRun, *, worker: Worker, flight: InFlight) -> None:
        """Execute `run` (claimed by `worker`) to its end and record it.

        Never raises for a problem with the run itself: this is the per-run
        boundary.
        """
        fresh_connections()
        try:
            self._execute(run, worker=worker, flight=flight)
        # The per-run boundary, the one place a blind except is allowed.
        except Exception as exc:
            logger.exception("Worker error on run %s of job %s", run.pk, run.job_id)
            outcome = Outcome(
                JobRun.Status.FAILED,
                reason=MSG_WORKER_ERROR.format(error=exc),
                reason_code=reasons.WORKER_ERROR,
            )
            self.record(
                runs.run_finish,
                run=run,
                worker=worker,
                outcome=outcome,
                now=self.clock(),
                retry=RetryMode.NEVER,
            )
        finally:
            fresh_connections()

    def finish(
        self,
        run: JobRun,
        result: ProcessResult,
        *,
        worker: Worker,
        cause: str = "",
        timeout_seconds: float | None = None,
        around: Callable[[Outcome], Outcome] | None = None,
    ) -> JobRun | None:
        """Record the result of `run`'s process; return the retry, if any.

        The result's output is stored as it is: the runner masked it.
        `around` (the post-hook) may add to the outcome before it is stored.
        """
        outcome, mode = outcome_for(
            result, cause=cause, worker=worker.name, timeout_seconds=timeout_seconds
        )
        if around is not None:
            outcome = around(outcome)
        outcome = artifacts.run_artifacts_finish(
            run=run, outcome=outcome, now=self.clock()
        )
        retry = self.record(
            runs.run_finish,
            run=run,
            worker=worker,
            outcome=outcome,
            now=self.clock(),
            retry=mode,
        )
        started_at = run.started_at or run.scheduled_for
        logger.info(
            "Run %s of job %s finished: %s (exit code %s) in %.3f s, %.3f s late",
            run.pk,
            run.job.name,
            run.status,
            result.exit_code,
            result.duration_seconds,
            (started_at - run.scheduled_for).total_seconds(),
        )
        return retry

    def record(self, write: Callable[..., T], **kwargs: Any) -> T:
        """Call `write`, retrying through a database outage until abandoned."""
        failures = 0
        while True:
            try:
                return write(**kwargs)
            except DB_ERRORS as exc:
                if self.abandon.is_set():
                    raise
                failures += 1
                delay = backoff_seconds(failures)
                logger.warning(
                    "Could not record a run (%s); retrying in %.1f s", exc, delay
                )
                close_connection()
                self.abandon.wait(delay)

    def _execute(self, run: JobRun, *, worker: Worker, flight: InFlight) -> None:
        try:
            prepared = execution.run_prepare(
                run=run,
                now=self.clock(),
                python=self.python,
                kill_grace_seconds=self.kill_grace_seconds,
            )
        except DB_ERRORS as exc:
            # Nothing ran: the run goes back to the queue, as it was.
            logger.warning("Database error before run %s started: %s", run.pk, exc)
            close_connection()
            self.record(leases.run_hand_back, run=run, worker=worker)
            return
        if isinstance(prepared, execution.Blocked):
            self._block(run, worker=worker, blocked=prepared)
            return
        self.record(execution.run_begin, run=run, prepared=prepared)
        logger.info(
            "Run %s of job %s started, %.3f s late (slot %s, attempt %s)",
            run.pk,
            run.job.name,
            (self.clock() - run.scheduled_for).total_seconds(),
            run.scheduled_for.isoformat(),
            run.attempt,
        )
        before = self._pre_hook(run, prepared, worker=worker, flight=flight)
        if before is None:
            return
        spec = prepared.spec
        if self.lease_seconds is not None:
            spec = replace(spec, fence_seconds=self.lease_seconds / 2)
        result = run_process(
            spec,
            cancel=flight.cancel,
            on_output=partial(self._flush_output, run, worker),
            on_start=partial(self._record_supervisor, run, worker),
            lease=flight.lease,
            output_interval_seconds=self.output_interval_seconds,
            outcome=None if self.state_dir is None else (self.state_dir, str(run.pk)),
        )
        result = self._own_exit(run, result)
        self.finish(
            run,
            result,
            worker=worker,
            cause=flight.cause,
            timeout_seconds=prepared.spec.timeout_seconds,
            around=partial(self._post_hook, prepared, before, flight),
        )
        if self.state_dir is not None:
            # Recorded (or dropped for a takeover): the saved copy is spent.
            leases.run_saved_outcome_remove(run=run, state_dir=self.state_dir)

    def _own_exit(self, run: JobRun, result: ProcessResult) -> ProcessResult:
        """Return `result` as the script's own exit if it ended by itself.

        A stop (shutdown, cancel, the lease fence, recovery) may cross the
        script's own exit: the stop is then taken for the cause although
        the script had finished (a succeeded script recorded lost and run
        again). Its supervisor saves an outcome only when it had not
        signalled the script, so a saved outcome tells.
        """
        stopped = result.cancelled or result.lease_expired or result.supervisor_ended
        if self.state_dir is None or not stopped:
            return result
        path = leases.run_saved_outcome_file(run=run, state_dir=self.state_dir)
        saved = None if path is None else run_outcomes.outcome_read(path)
        if saved is None:
            return result
        logger.info("Run %s ended by itself (exit code %s)", run.pk, saved.exit_code)
        return replace(
            result,
            exit_code=saved.exit_code,
            cancelled=False,
            lease_expired=False,
            supervisor_ended=False,
        )

    def _pre_hook(
        self,
        run: JobRun,
        prepared: execution.Prepared,
        *,
        worker: Worker,
        flight: InFlight,
    ) -> str | None:
        """Run the job's pre-hook: its output, or None if it failed (recorded)."""
        hook = prepared.pre_hook
        if hook is None:
            return ""
        result = run_process(hook.spec, cancel=flight.cancel)
        section = hooks.section(hooks.PRE, hook.path, result)
        if hooks.succeeded(result):
            return section
        outcome, mode = hooks.pre_hook_failed(hook.path, result), RetryMode.POLICY
        if result.cancelled:
            # Cancelled or shut down while in the hook: recorded as such.
            outcome, mode = outcome_for(
                result, cause=flight.cause, worker=worker.name, timeout_seconds=None
            )
            outcome = dataclasses.replace(outcome, output=section)
        self.record(
            runs.run_finish,
            run=run,
            worker=worker,
            outcome=outcome,
            now=self.clock(),
            retry=mode,
        )
        return None

    def _post_hook(
        self,
        prepared: execution.Prepared,
        before: str,
        flight: InFlight,
        outcome: Outcome,
    ) -> Outcome:
        """Run the job's post-hook with the outcome; keep the hooks' output."""
        after = ""
        hook = prepared.post_hook
        if hook is not None:
            # It runs even after a user's cancel (clean-up), bounded by its
            # timeout; a shutting-down worker does not wait for it.
            cancel = flight.cancel
            if cancel.is_set() and flight.cause != CAUSE_SHUTDOWN:
                cancel = threading.Event()
            result = run_process(
                hooks.post_hook_spec(hook.spec, outcome), cancel=cancel
            )
            after = hooks.section(hooks.POST, hook.path, result)
        return hooks.with_hook_output(outcome, before=before, after=after)

    def _block(
        self, run: JobRun, *, worker: Worker, blocked: execution.Blocked
    ) -> None:
        done = self.record(
            runs.run_block,
            run=run,
            worker=worker,
            reason=reasons.CodedReason(blocked.reason, code=blocked.code),
            now=self.clock(),
        )
        if done:
            logger.info("Run %s of job %s blocked: %s", run.pk, run.job, blocked.reason)

    def _record_supervisor(self, run: JobRun, worker: Worker, pid: int) -> None:
        """Record where the run's supervisor runs and start its lease.

        One try: should the database fail, recovery falls back on the
        worker's heartbeat alone, and the supervisor still fences itself.
        """
        try:
            leases.run_supervisor_record(
                run=run,
                worker=worker,
                host=self.host,
                pid=pid,
                now=self.clock(),
                lease_seconds=self.lease_seconds,
            )
        except DB_ERRORS as exc:
            logger.warning("Could not record the supervisor of run %s: %s", run.pk, exc)
            close_connection()

    def _flush_output(
        self, run: JobRun, worker: Worker, output: str, dropped: int
    ) -> None:
        # `output` comes masked from the runner.
        try:
            runs.run_flush_output(
                run=run, worker=worker, output=output, dropped_bytes=dropped
            )
        except DB_ERRORS as exc:
            # Partial output only; the final result is recorded with retries.
            logger.warning("Could not store output of run %s: %s", run.pk, exc)
            close_connection()


def keep_connections() -> None:
    """Let each of this process's threads keep its database connection.

    A worker runs many short jobs; opening a connection for each (a new
    server process on PostgreSQL) would cost more than the job's own
    bookkeeping. Connections are checked before reuse after each run, and
    closed when they fail.
    """
    for alias in connections:
        connections.settings[alias]["CONN_MAX_AGE"] = None
        connections.settings[alias]["CONN_HEALTH_CHECKS"] = True


def limit_idle_transactions(seconds: float = IDLE_IN_TRANSACTION_SECONDS) -> None:
    """Have PostgreSQL end this process's sessions idle in a transaction.

    A worker stopped (SIGSTOP) or hung inside its claim's transaction holds
    row locks that every other worker's claim waits for; with this, the
    server ends that session after `seconds` and its locks go. Applies to
    connections opened from now on (a startup option, no extra query).
    """
    timeout = f"-c idle_in_transaction_session_timeout={round(seconds * 1000)}"
    for alias in connections:
        params = connections.settings[alias]
        if not str(params["ENGINE"]).endswith("postgresql"):
            continue
        options = params.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} {timeout}".strip()


def fresh_connections() -> None:
    """Drop unusable or expired connections, unless inside a transaction."""
    if not connection.in_atomic_block:
        close_old_connections()


def close_connection() -> None:
    """Close this thread's connection after a database error."""
    if connection.in_atomic_block:
        return
    with contextlib.suppress(DatabaseError):
        connection.close()
