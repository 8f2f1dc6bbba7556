"""Which rules fire for which run events: state change, recovery, streaks."""

from __future__ import annotations

import pytest

from notifications import decisions as d

FAILURES = d.RuleSpec(id=1, triggers=frozenset({d.FAILURE, d.RECOVERED}))


@pytest.mark.parametrize(
    ("kind", "status", "code", "expected"),
    [
        ("ended", "failed", "exit_code", d.FAILURE),
        ("ended", "succeeded", "", d.SUCCESS),
        ("ended", "timed_out", "timed_out", d.TIMEOUT),
        ("ended", "lost", "worker_lost", d.LOST),
        ("ended", "blocked", "path_refused", d.BLOCKED),
        ("ended", "skipped", "misfire_skipped", d.SKIPPED_MISFIRE),
        ("ended", "skipped", "concurrency_forbid", None),
        ("ended", "cancelled", "cancelled_by_user", None),
        ("retry_scheduled", "failed", "exit_code", d.RETRY),
    ],
)
def test_each_event_maps_to_its_trigger(
    kind: str, status: str, code: str, expected: str | None
) -> None:
    """Run statuses and reason codes become triggers; some notify nobody."""
    assert d.trigger_of(kind=kind, status=status, reason_code=code) == expected


def test_a_job_failing_sixty_times_sends_one_failure_and_one_recovery() -> None:
    """On state change (the default), repeats of a failure send nothing."""
    streak, sent = 0, []
    for trigger in [d.FAILURE] * 60 + [d.SUCCESS, d.SUCCESS]:
        outcome = d.decide(trigger=trigger, streak=streak, rules=[FAILURES])
        streak = outcome.streak
        sent += [fired for _, fired in outcome.fired]
    assert sent == [d.FAILURE, d.RECOVERED]


def test_a_rule_on_every_event_sends_each_failure() -> None:
    """only_on_change=False sends every failure."""
    rule = d.RuleSpec(id=1, triggers=frozenset({d.FAILURE}), only_on_change=False)
    outcome = d.decide(trigger=d.FAILURE, streak=5, rules=[rule])
    assert outcome.fired == ((1, d.FAILURE),)
    assert outcome.streak == 6


def test_failing_n_fires_once_when_the_streak_reaches_n() -> None:
    """failing_n fires at exactly N failures in a row, not before or after."""
    rule = d.RuleSpec(id=7, triggers=frozenset({d.FAILING_N}), failing_n=3)
    fired = [
        d.decide(trigger=d.FAILURE, streak=before, rules=[rule]).fired
        for before in range(5)
    ]
    assert fired == [(), (), ((7, d.FAILING_N),), (), ()]


def test_retries_and_skips_do_not_change_the_streak() -> None:
    """Only failures grow the streak and only success resets it."""
    assert d.next_streak(d.RETRY, 2) == 2
    assert d.next_streak(d.SKIPPED_MISFIRE, 2) == 2
    assert d.next_streak(d.TIMEOUT, 2) == 3
    assert d.next_streak(d.SUCCESS, 2) == 0


def test_a_first_success_is_no_state_change() -> None:
    """A success on state change fires only after failures."""
    rule = d.RuleSpec(id=1, triggers=frozenset({d.SUCCESS}))
    assert d.decide(trigger=d.SUCCESS, streak=0, rules=[rule]).fired == ()
    assert d.decide(trigger=d.SUCCESS, streak=1, rules=[rule]).fired == (
        (1, d.SUCCESS),
    )


def test_unknown_triggers_are_named() -> None:
    """Names that are not triggers come back in order."""
    assert d.unknown_triggers(["failure", "boom", "fail"]) == ["boom", "fail"]
