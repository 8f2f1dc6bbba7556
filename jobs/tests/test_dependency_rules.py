"""The pure dependency rules: modes, windows and cycles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jobs import dependency_rules as rules
from jobs.dependency_rules import Action, Decision, Outcome

OK_1 = Outcome(run_id=1, succeeded=True)
OK_2 = Outcome(run_id=2, succeeded=True)
BAD_3 = Outcome(run_id=3, succeeded=False)
BAD_4 = Outcome(run_id=4, succeeded=False)


@pytest.mark.parametrize(
    ("mode", "outcomes", "expected"),
    [
        (rules.ALL_SUCCESS, {10: OK_1, 20: None}, rules.WAIT),
        (rules.ALL_SUCCESS, {10: OK_1, 20: OK_2}, Decision(Action.RUN, (1, 2))),
        (rules.ALL_SUCCESS, {10: BAD_3, 20: None}, Decision(Action.SKIP, (3,), 3)),
        (rules.ALL_SUCCESS, {10: OK_1, 20: BAD_3}, Decision(Action.SKIP, (1, 3), 3)),
        (rules.ANY_SUCCESS, {10: BAD_3, 20: None}, rules.WAIT),
        (rules.ANY_SUCCESS, {10: BAD_3, 20: OK_2}, Decision(Action.RUN, (2, 3))),
        (rules.ANY_SUCCESS, {10: BAD_3, 20: BAD_4}, Decision(Action.SKIP, (3, 4), 4)),
        (rules.ALL_COMPLETE, {10: BAD_3, 20: None}, rules.WAIT),
        (rules.ALL_COMPLETE, {10: BAD_3, 20: OK_2}, Decision(Action.RUN, (2, 3))),
        (rules.ALL_SUCCESS, {}, rules.WAIT),
    ],
)
def test_decide(
    mode: str, outcomes: dict[int, Outcome | None], expected: Decision
) -> None:
    assert rules.decide(mode=mode, outcomes=outcomes) == expected


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown dependency mode 'some'"):
        rules.decide(mode="some", outcomes={1: OK_1})


def test_slots_that_never_ran_are_no_outcome() -> None:
    assert rules.is_outcome("misfire_folded") is False
    assert rules.is_outcome("upstream_failed") is True
    assert rules.is_outcome("") is True


def test_window_start() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert rules.window_start(now=now, window_hours=None) is None
    assert rules.window_start(now=now, window_hours=2) == datetime(
        2026, 3, 1, 10, tzinfo=UTC
    )


def test_find_cycle_names_it_in_run_order() -> None:
    """C depends on B, B on A, A on C: A → B → C → A."""
    cycle = rules.find_cycle({"A": ["C"], "B": ["A"], "C": ["B"], "D": ["A"]})
    assert cycle == ["A", "B", "C", "A"]
    assert rules.cycle_text(cycle) == "A → B → C → A"


def test_find_cycle_of_a_self_dependency() -> None:
    assert rules.find_cycle({"A": ["A"]}) == ["A", "A"]


def test_a_diamond_has_no_cycle() -> None:
    assert rules.find_cycle({"B": ["A"], "C": ["A"], "D": ["B", "C"]}) is None
