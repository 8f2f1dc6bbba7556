"""The scheduling and retry policies, as plain decisions on plain values.

Pure: no Django imports and no clock reads (`now` arrives as an argument).
`jobs.services.due` and `jobs.services.runs` read the database, call these,
and write what they decide. Choice values are the strings the models store
(`Job.MisfirePolicy`, `Job.ConcurrencyPolicy`, `JobRun.Status` …).

Misfires (slots more than the grace period late, after downtime):

* ``run_once``: the latest missed slot runs, with `missed_slots` counting the
  earlier ones; those are recorded as skipped, folded into it;
* ``skip``: every missed slot is recorded as skipped;
* ``run_all``: the latest `cap` missed slots run, and any earlier ones are
  recorded as skipped (misfire cap).
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from jobs import reasons
from jobs.runner import ProcessResult

T = TypeVar("T")

# JobRun.Status values.
SUCCEEDED = "succeeded"
FAILED = "failed"
TIMED_OUT = "timed_out"
CANCELLED = "cancelled"
LOST = "lost"
SKIPPED = "skipped"
BLOCKED = "blocked"
# Job.MisfirePolicy values.
RUN_ONCE = "run_once"
SKIP = "skip"
RUN_ALL = "run_all"
# Job.ConcurrencyPolicy values.
ALLOW = "allow"
FORBID = "forbid"
REPLACE = "replace"
# Job.RetryBackoff values.
EXPONENTIAL = "exponential"
# Why the worker stopped a process itself.
CAUSE_CANCEL = "cancel"
CAUSE_SHUTDOWN = "shutdown"

MSG_MISFIRE_SKIPPED = "Missed while no worker was running (misfire policy: skip)."
MSG_MISFIRE_COALESCED = (
    "Missed while no worker was running; folded into one run for the latest "
    "missed slot (misfire policy: run once)."
)
MSG_MISFIRE_CAP = (
    "Missed while no worker was running; only the latest {cap} missed slots "
    "run (misfire cap)."
)
MSG_FORBID = "Previous run still running (concurrency policy: forbid)."
MSG_CANCELLED = "Cancelled."
MSG_SHUTDOWN = "Worker {worker} shut down before the run finished."
MSG_EXIT_CODE = "Exited with code {code}."
MSG_SIGNAL = "Killed by signal {signal}."
MSG_TIMED_OUT = "Timed out after {seconds:g} seconds; its process group was stopped."
MSG_WORKER_ERROR = "The worker failed while handling this run: {error}"
MSG_LEASE_EXPIRED = (
    "The run's lease was not renewed in time (worker {worker} stalled or cut off "
    "from the database); its supervisor ended the script."
)
MSG_SUPERVISOR_ENDED = (
    "The run's supervisor was ended from outside before it reported the script's "
    "exit (recovery on this host took the run of worker {worker} over)."
)


@dataclass(frozen=True)
class SlotPlan:
    """What to record for one slot: a run, or a skip with its reason."""

    scheduled_for: datetime
    is_run: bool
    reason: str = ""
    reason_code: str = ""
    missed_slots: int = 0
    is_blocked: bool = False
    # A run deferred past a blackout window may not start before this.
    not_before: datetime | None = None
    is_misfire: bool = False


class RetryMode(enum.Enum):
    """Whether finishing a run queues another attempt."""

    POLICY = "policy"  # as the job's retry settings say
    INTERRUPTED = "interrupted"  # a shutdown stopped it: retry if lost runs do
    NEVER = "never"


@dataclass(frozen=True)
class Outcome:
    """How a run ended, as the worker records it."""

    status: str
    exit_code: int | None = None
    output: str = ""
    dropped_bytes: int = 0
    reason: str = ""
    reason_code: str = ""


# --- misfires ------------------------------------------------------------------


def plan_slots(
    slots: Sequence[datetime],
    *,
    now: datetime,
    policy: str,
    grace_seconds: float,
    cap: int,
    has_more: bool = False,
) -> list[SlotPlan]:
    """Decide the outcome of each due slot, oldest first.

    `slots` are consecutive due slots in order. With `has_more`, more due
    slots follow them; then the plan may cover only a prefix of `slots`, and
    the caller resumes at the first slot left out, because the latest missed
    slots (which run under ``run_once`` and ``run_all``) may lie further on.
    """
    missed = [s for s in slots if (now - s).total_seconds() > grace_seconds]
    on_time = list(slots[len(missed) :])
    keep = _kept_open(policy, missed=len(missed), cap=cap) if has_more else 0
    if on_time:
        keep = 0
    closed = missed[: len(missed) - keep]
    if policy == SKIP:
        plans = _skips(closed, MSG_MISFIRE_SKIPPED, reasons.MISFIRE_SKIPPED)
    elif policy == RUN_ALL:
        plans = _run_all(closed, cap=cap, is_open=bool(keep))
    else:
        plans = _run_once(closed, is_open=bool(keep))
    return plans + [SlotPlan(s, is_run=True) for s in on_time]


def _kept_open(policy: str, *, missed: int, cap: int) -> int:
    """Return how many missed slots to leave for the next step to decide."""
    keep = {RUN_ONCE: 1, RUN_ALL: cap}.get(policy, 0)
    return max(min(keep, missed - 1), 0)  # always make progress


def _skips(slots: Sequence[datetime], reason: str, code: str) -> list[SlotPlan]:
    return [SlotPlan(s, is_run=False, reason=reason, reason_code=code) for s in slots]


def _run_all(closed: list[datetime], *, cap: int, is_open: bool) -> list[SlotPlan]:
    """Run the latest `cap` closed slots and skip the older ones."""
    running = closed[-cap:] if not is_open else []
    skipped = closed[: len(closed) - len(running)]
    plans = _skips(skipped, MSG_MISFIRE_CAP.format(cap=cap), reasons.MISFIRE_CAP)
    return plans + [SlotPlan(s, is_run=True, is_misfire=True) for s in running]


def _run_once(closed: list[datetime], *, is_open: bool) -> list[SlotPlan]:
    """Fold the closed slots into a run of the last one (unless left open)."""
    if not closed:
        return []
    folded = closed if is_open else closed[:-1]
    plans = _skips(folded, MSG_MISFIRE_COALESCED, reasons.MISFIRE_FOLDED)
    if not is_open:
        plans.append(
            SlotPlan(closed[-1], is_run=True, missed_slots=len(folded), is_misfire=True)
        )
    return plans


# --- concurrency ---------------------------------------------------------------


def apply_concurrency(
    plans: list[SlotPlan], active: Sequence[T], policy: str, limit: int
) -> tuple[list[SlotPlan], list[T]]:
    """Apply a concurrency policy to runs planned beside `active` ones.

    Return the plans and the active runs to replace (oldest first). Runs
    planned in one step (a misfire backlog) queue behind each other; the
    policy looks at the runs that were active before the step (`active`,
    oldest first) and at `limit`, the job's most runs at once.
    """
    if policy == ALLOW or not any(plan.is_run for plan in plans):
        return plans, []
    excess = len(active) - limit + 1
    if excess <= 0:
        return plans, []
    if policy == FORBID:
        forbidden = [
            replace(
                plan,
                is_run=False,
                reason=MSG_FORBID,
                reason_code=reasons.CONCURRENCY_FORBID,
                missed_slots=0,
            )
            if plan.is_run
            else plan
            for plan in plans
        ]
        return forbidden, []
    return plans, list(active[:excess])


# --- retries -------------------------------------------------------------------


def retry_delay_seconds(
    *, attempt: int, delay_seconds: int, backoff: str, max_delay_seconds: int
) -> int:
    """Return the delay before the attempt that follows attempt `attempt`.

    Exponential backoff doubles the delay per attempt, up to the cap; a
    fixed delay stays as set.
    """
    if backoff == EXPONENTIAL:
        return int(min(delay_seconds * 2 ** (attempt - 1), max_delay_seconds))
    return delay_seconds


def is_retryable(
    *,
    status: str,
    exit_code: int | None,
    retry_exit_codes: Sequence[int],
    retry_on_timeout: bool,
    retry_on_lost: bool,
) -> bool:
    """Return whether a job's retry policy retries a run that ended so."""
    if status == TIMED_OUT:
        return retry_on_timeout
    if status == LOST:
        return retry_on_lost
    if status != FAILED:
        return False
    if retry_exit_codes:
        return exit_code in retry_exit_codes
    # Empty list: any failure retries, including one that never started.
    return exit_code != 0


# --- process results -----------------------------------------------------------


def outcome_for(
    result: ProcessResult, *, cause: str, worker: str, timeout_seconds: float | None
) -> tuple[Outcome, RetryMode]:
    """Return how to record a process result, and how it may retry."""
    status, mode, reason, code = _ending(
        result, cause=cause, worker=worker, timeout_seconds=timeout_seconds
    )
    outcome = Outcome(
        status,
        exit_code=result.exit_code,
        output=result.output,
        dropped_bytes=result.dropped_bytes,
        reason=reason,
        reason_code=code,
    )
    return outcome, mode


def _ending(
    result: ProcessResult, *, cause: str, worker: str, timeout_seconds: float | None
) -> tuple[str, RetryMode, str, str]:
    """Return (status, retry mode, reason, reason code) for `result`."""
    stopped = _stopped(
        result, cause=cause, worker=worker, timeout_seconds=timeout_seconds
    )
    return stopped if stopped is not None else _exited(result)


def _stopped(
    result: ProcessResult, *, cause: str, worker: str, timeout_seconds: float | None
) -> tuple[str, RetryMode, str, str] | None:
    """Return how a run stopped by anything but its own exit ends, or None."""
    if result.lease_expired:
        reason = MSG_LEASE_EXPIRED.format(worker=worker)
        return LOST, RetryMode.INTERRUPTED, reason, reasons.LEASE_EXPIRED
    if result.supervisor_ended and not (result.cancelled or result.timed_out):
        # Killed with its supervisor, not by itself: no script failure.
        reason = MSG_SUPERVISOR_ENDED.format(worker=worker)
        return LOST, RetryMode.INTERRUPTED, reason, reasons.WORKER_LOST
    if result.cancelled and cause == CAUSE_SHUTDOWN:
        reason = MSG_SHUTDOWN.format(worker=worker)
        return LOST, RetryMode.INTERRUPTED, reason, reasons.SHUTDOWN
    if result.cancelled:
        return CANCELLED, RetryMode.NEVER, MSG_CANCELLED, reasons.CANCELLED_BY_USER
    if result.artifacts_too_large:
        # Not retried: a rerun of the same script would fill the folder again.
        return FAILED, RetryMode.NEVER, result.error, reasons.ARTIFACTS_TOO_LARGE
    if result.timed_out:
        reason = MSG_TIMED_OUT.format(seconds=timeout_seconds or 0)
        return TIMED_OUT, RetryMode.POLICY, reason, reasons.TIMED_OUT
    return None


def _exited(result: ProcessResult) -> tuple[str, RetryMode, str, str]:
    """Return how a run ends by its script's own exit (or failure to start)."""
    code = result.exit_code
    if code is None and result.error:
        return FAILED, RetryMode.POLICY, result.error, reasons.START_FAILED
    if code is None:
        reason = MSG_WORKER_ERROR.format(error="no exit code")
        return FAILED, RetryMode.POLICY, reason, reasons.WORKER_ERROR
    if code == 0:
        return SUCCEEDED, RetryMode.POLICY, "", ""
    if code < 0:
        reason = MSG_SIGNAL.format(signal=_signal_name(-code))
        return FAILED, RetryMode.POLICY, reason, reasons.SIGNAL
    return FAILED, RetryMode.POLICY, MSG_EXIT_CODE.format(code=code), reasons.EXIT_CODE


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
