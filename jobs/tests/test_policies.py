"""The pure policies: misfires, concurrency, retries and process outcomes.

Plain pytest, like the engine's tests: no database and no Django.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobs import policies, reasons
from jobs.policies import (
    CAUSE_CANCEL,
    CAUSE_SHUTDOWN,
    MSG_FORBID,
    MSG_MISFIRE_CAP,
    MSG_MISFIRE_COALESCED,
    MSG_MISFIRE_SKIPPED,
    RetryMode,
    SlotPlan,
    apply_concurrency,
    is_retryable,
    outcome_for,
    plan_slots,
    retry_delay_seconds,
)
from jobs.runner import ProcessResult

T0 = datetime(2026, 3, 1, tzinfo=UTC)
PURE_MODULES = ("policies.py", "reasons.py")
# The modules the pure ones may import from the project (pure themselves).
PURE_IMPORTS = {"jobs", "jobs.reasons", "jobs.runner"}


def minute(n: int, second: int = 0) -> datetime:
    """Return T0 plus `n` minutes and `second` seconds."""
    return T0 + timedelta(minutes=n, seconds=second)


@pytest.mark.parametrize("name", PURE_MODULES)
def test_the_policy_modules_import_nothing_from_django(name: str) -> None:
    """No Django, and from the project only other pure modules."""
    tree = ast.parse((Path(policies.__file__).parent / name).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }
    assert not {m for m in imported if m.split(".")[0] == "django"}
    project = {m for m in imported if m.split(".")[0] in {"jobs", "jobportal"}}
    assert project <= PURE_IMPORTS


# --- misfires ------------------------------------------------------------------


def test_plan_slots_is_pure_and_keeps_the_latest_slot_for_the_next_step() -> None:
    """With more slots to come, run_once leaves the last missed slot open."""
    slots = [minute(n) for n in range(1, 6)]
    plans = plan_slots(
        slots,
        now=minute(20),
        policy=policies.RUN_ONCE,
        grace_seconds=30,
        cap=100,
        has_more=True,
    )
    assert plans == [
        SlotPlan(
            minute(n),
            is_run=False,
            reason=MSG_MISFIRE_COALESCED,
            reason_code=reasons.MISFIRE_FOLDED,
        )
        for n in range(1, 5)
    ]


def test_run_once_folds_the_missed_slots_into_the_latest() -> None:
    """Three missed, one on time: two folded, one run counting two, one run."""
    slots = [minute(n) for n in range(1, 5)]
    plans = plan_slots(
        slots, now=minute(4, 10), policy=policies.RUN_ONCE, grace_seconds=30, cap=100
    )
    folded = SlotPlan(
        minute(1),
        is_run=False,
        reason=MSG_MISFIRE_COALESCED,
        reason_code=reasons.MISFIRE_FOLDED,
    )
    assert plans == [
        folded,
        SlotPlan(
            minute(2),
            is_run=False,
            reason=MSG_MISFIRE_COALESCED,
            reason_code=reasons.MISFIRE_FOLDED,
        ),
        SlotPlan(minute(3), is_run=True, missed_slots=2, is_misfire=True),
        SlotPlan(minute(4), is_run=True),
    ]


def test_skip_skips_every_missed_slot_with_its_code() -> None:
    """Policy skip: each missed slot is skipped as misfire_skipped."""
    plans = plan_slots(
        [minute(1), minute(2)],
        now=minute(5),
        policy=policies.SKIP,
        grace_seconds=30,
        cap=100,
    )
    assert [(p.is_run, p.reason, p.reason_code) for p in plans] == [
        (False, MSG_MISFIRE_SKIPPED, reasons.MISFIRE_SKIPPED)
    ] * 2


def test_run_all_runs_the_latest_cap_and_skips_older_ones() -> None:
    """Cap 2, four missed: two skipped (misfire_cap), the latest two run."""
    plans = plan_slots(
        [minute(n) for n in range(1, 5)],
        now=minute(10),
        policy=policies.RUN_ALL,
        grace_seconds=30,
        cap=2,
    )
    cap_reason = MSG_MISFIRE_CAP.format(cap=2)
    assert [(p.is_run, p.reason, p.reason_code) for p in plans] == [
        (False, cap_reason, reasons.MISFIRE_CAP),
        (False, cap_reason, reasons.MISFIRE_CAP),
        (True, "", ""),
        (True, "", ""),
    ]


# --- concurrency ---------------------------------------------------------------


def run_plans() -> list[SlotPlan]:
    """Return two planned runs."""
    return [SlotPlan(minute(1), is_run=True), SlotPlan(minute(2), is_run=True)]


def test_allow_keeps_the_plans_whatever_is_active() -> None:
    """Policy allow never skips nor replaces."""
    assert apply_concurrency(run_plans(), ["a", "b"], policies.ALLOW, 1) == (
        run_plans(),
        [],
    )


def test_forbid_skips_planned_runs_at_the_limit() -> None:
    """Forbid with one active and a limit of 1: the runs become skips."""
    plans, replaced = apply_concurrency(
        [*run_plans(), SlotPlan(minute(0), is_run=False, reason="x")],
        ["a"],
        policies.FORBID,
        1,
    )
    assert [(p.is_run, p.reason, p.reason_code) for p in plans] == [
        (False, MSG_FORBID, reasons.CONCURRENCY_FORBID),
        (False, MSG_FORBID, reasons.CONCURRENCY_FORBID),
        (False, "x", ""),
    ]
    assert replaced == []


def test_forbid_under_the_limit_keeps_the_runs() -> None:
    """Forbid with one active and a limit of 2: nothing changes."""
    assert apply_concurrency(run_plans(), ["a"], policies.FORBID, 2) == (
        run_plans(),
        [],
    )


def test_replace_names_the_oldest_active_runs_beyond_the_limit() -> None:
    """Replace, limit 2, three active: the two oldest make room."""
    assert apply_concurrency(run_plans(), ["a", "b", "c"], policies.REPLACE, 2) == (
        run_plans(),
        ["a", "b"],
    )


def test_no_planned_run_needs_no_policy() -> None:
    """Only skips planned: nothing to forbid or replace."""
    skips = [SlotPlan(minute(1), is_run=False, reason="x")]
    assert apply_concurrency(skips, ["a"], policies.REPLACE, 1) == (skips, [])


# --- retries -------------------------------------------------------------------


def test_exponential_backoff_doubles_up_to_the_cap() -> None:
    """10 s doubling, capped at 60 s: 10, 20, 40, 60, 60."""
    delays = [
        retry_delay_seconds(
            attempt=attempt,
            delay_seconds=10,
            backoff=policies.EXPONENTIAL,
            max_delay_seconds=60,
        )
        for attempt in range(1, 6)
    ]
    assert delays == [10, 20, 40, 60, 60]


def test_fixed_backoff_keeps_the_delay() -> None:
    """Fixed: the same delay after every attempt."""
    assert {
        retry_delay_seconds(
            attempt=attempt,
            delay_seconds=30,
            backoff="fixed",
            max_delay_seconds=10,
        )
        for attempt in range(1, 4)
    } == {30}


@pytest.mark.parametrize(
    ("status", "exit_code", "codes", "expected"),
    [
        (policies.FAILED, 2, [], True),
        (policies.FAILED, None, [], True),
        (policies.FAILED, 2, [3], False),
        (policies.FAILED, 3, [3], True),
        (policies.TIMED_OUT, -15, [], False),
        (policies.LOST, None, [], True),
        (policies.SUCCEEDED, 0, [], False),
        (policies.CANCELLED, -15, [], False),
    ],
)
def test_which_endings_retry(
    status: str, exit_code: int | None, codes: list[int], expected: bool
) -> None:
    """Failures retry (by exit code if listed); timeouts and lost runs as set."""
    assert (
        is_retryable(
            status=status,
            exit_code=exit_code,
            retry_exit_codes=codes,
            retry_on_timeout=False,
            retry_on_lost=True,
        )
        is expected
    )


# --- process results -----------------------------------------------------------


def test_outcomes_of_process_results() -> None:
    """Signals, cancels and shutdowns map to statuses and retry modes."""
    killed = ProcessResult(-9, False, False, "", 0, 0.1)
    assert outcome_for(killed, cause="", worker="w", timeout_seconds=None)[
        0
    ].reason == ("Killed by signal SIGKILL.")
    cancelled = ProcessResult(-15, False, True, "", 0, 0.1)
    outcome, mode = outcome_for(
        cancelled, cause=CAUSE_CANCEL, worker="w", timeout_seconds=None
    )
    assert (outcome.status, mode) == (policies.CANCELLED, RetryMode.NEVER)
    outcome, mode = outcome_for(
        cancelled, cause=CAUSE_SHUTDOWN, worker="w", timeout_seconds=None
    )
    assert (outcome.status, mode) == (policies.LOST, RetryMode.INTERRUPTED)
    not_started = ProcessResult(None, False, False, "", 0, 0.0, error="could not")
    outcome, mode = outcome_for(not_started, cause="", worker="w", timeout_seconds=None)
    assert (outcome.status, outcome.reason, mode) == (
        policies.FAILED,
        "could not",
        RetryMode.POLICY,
    )


@pytest.mark.parametrize(
    ("result", "cause", "status", "code"),
    [
        (ProcessResult(0, False, False, "", 0, 0.1), "", policies.SUCCEEDED, ""),
        (ProcessResult(2, False, False, "", 0, 0.1), "", policies.FAILED, "exit_code"),
        (ProcessResult(-9, False, False, "", 0, 0.1), "", policies.FAILED, "signal"),
        (
            ProcessResult(-15, True, False, "", 0, 0.1),
            "",
            policies.TIMED_OUT,
            "timed_out",
        ),
        (
            ProcessResult(-15, False, True, "", 0, 0.1),
            CAUSE_CANCEL,
            policies.CANCELLED,
            "cancelled_by_user",
        ),
        (
            ProcessResult(-15, False, True, "", 0, 0.1),
            CAUSE_SHUTDOWN,
            policies.LOST,
            "shutdown",
        ),
        (
            ProcessResult(None, False, False, "", 0, 0.0, error="no exec"),
            "",
            policies.FAILED,
            "start_failed",
        ),
        (
            ProcessResult(None, False, False, "", 0, 0.0),
            "",
            policies.FAILED,
            "worker_error",
        ),
    ],
)
def test_every_process_ending_has_its_reason_code(
    result: ProcessResult, cause: str, status: str, code: str
) -> None:
    """Each way a process ends gives its status and reason code."""
    outcome, _ = outcome_for(result, cause=cause, worker="w", timeout_seconds=5)
    assert (outcome.status, outcome.reason_code) == (status, code)
    assert bool(outcome.reason) is bool(code)


def test_a_coded_reason_reads_as_its_text() -> None:
    """CodedReason compares as its words and carries its code."""
    reason = reasons.CodedReason("Not approved.", code=reasons.SCRIPT_UNAPPROVED)
    assert reason == "Not approved."
    assert reasons.code_of(reason, default="x") == reasons.SCRIPT_UNAPPROVED
    assert reasons.code_of("Not approved.", default="x") == "x"
