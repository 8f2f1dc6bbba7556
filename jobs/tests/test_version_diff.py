"""Differences between job snapshots, field by field (pure)."""

from typing import Any

from jobs.version_diff import (
    MISSING,
    MSG_NO_CHANGES,
    Change,
    diff_as_changes,
    diff_lines,
    ordered,
    version_diff,
)

ORDER = ("name", "args", "env", "active", "schedules", "retry", "type")

OLD: dict[str, Any] = {
    "name": "nightly",
    "args": ["--full"],
    "env": {"REGION": "apac"},
    "active": True,
    "schedules": [{"type": "daily", "time": "09:00"}],
    "retry": {"max_attempts": 1, "backoff": "fixed"},
}


def new(**changes: Any) -> dict[str, Any]:
    """Return OLD with top-level keys replaced."""
    return {**OLD, **changes}


def test_equal_snapshots_have_no_changes() -> None:
    """Nothing changed: no changes, one line saying so."""
    assert version_diff(old=OLD, new=dict(OLD)) == []
    assert diff_lines(old=OLD, new=OLD) == [MSG_NO_CHANGES]


def test_nested_changes_read_as_paths() -> None:
    """Schedules and policy groups are compared inside."""
    after = new(
        schedules=[{"type": "daily", "time": "10:00"}],
        retry={"max_attempts": 3, "backoff": "fixed"},
    )
    assert diff_lines(old=OLD, new=after, key_order=ORDER) == [
        "schedules[0].time: '09:00' → '10:00'",
        "retry.max_attempts: 1 → 3",
    ]


def test_keys_follow_the_given_order_then_a_to_z_whatever_the_input_order() -> None:
    """Stored JSON may reorder keys; the diff's order does not depend on it."""
    after = new(retry={"backoff": "exponential", "max_attempts": 3}, zeta=1, beta=2)
    reversed_old = dict(reversed(list(OLD.items())))
    expected = [
        "retry.backoff: 'fixed' → 'exponential'",
        "retry.max_attempts: 1 → 3",
        "beta: added 2",
        "zeta: added 1",
    ]
    assert diff_lines(old=OLD, new=after, key_order=ORDER) == expected
    assert diff_lines(old=reversed_old, new=after, key_order=ORDER) == expected


def test_without_an_order_keys_are_a_to_z() -> None:
    """The default order is alphabetical."""
    after = new(schedules=[{"type": "daily", "time": "10:00"}], active=False)
    assert diff_lines(old=OLD, new=after) == [
        "active: True → False",
        "schedules[0].time: '09:00' → '10:00'",
    ]


def test_ordered_sorts_every_mapping() -> None:
    """`ordered` applies the same order for display."""
    value = {"schedules": [{"time": "09:00", "type": "daily"}], "name": "n"}
    result = ordered(value, key_order=ORDER)
    assert list(result) == ["name", "schedules"]
    assert list(result["schedules"][0]) == ["type", "time"]


def test_added_and_removed_keys_and_items() -> None:
    """A new env key, a removed argument, an extra schedule."""
    after = new(
        args=[],
        env={"REGION": "apac", "TIER": "gold"},
        schedules=[*OLD["schedules"], {"type": "manual"}],
    )
    assert diff_lines(old=OLD, new=after, key_order=ORDER) == [
        "args[0]: removed (was '--full')",
        "env.TIER: added 'gold'",
        "schedules[1]: added {'type': 'manual'}",
    ]


def test_a_changed_schedule_type_shows_each_field() -> None:
    """Daily to weekly: the type changes and the weekdays appear."""
    after = new(schedules=[{"type": "weekly", "time": "09:00", "weekdays": ["mon"]}])
    assert version_diff(old=OLD, new=after, key_order=ORDER) == [
        Change("schedules[0].type", "daily", "weekly"),
        Change("schedules[0].weekdays", MISSING, ["mon"]),
    ]


def test_booleans_are_not_numbers() -> None:
    """True → 1 is a change even though Python says they are equal."""
    assert diff_lines(old=OLD, new=new(active=1)) == ["active: True → 1"]


def test_a_value_replaced_by_another_shape_is_one_change() -> None:
    """A list becoming a string is shown whole."""
    assert diff_lines(old=OLD, new=new(args="--full")) == [
        "args: ['--full'] → '--full'"
    ]


def test_changes_for_the_audit_log_use_none_for_missing() -> None:
    """{path: [old, new]} with None where a side is missing."""
    after = new(env={}, timeout_seconds=60)
    assert diff_as_changes(old=OLD, new=after) == {
        "env.REGION": ["apac", None],
        "timeout_seconds": [None, 60],
    }


def test_change_kinds() -> None:
    """added, removed and changed."""
    assert Change("a", MISSING, 1).kind == "added"
    assert Change("a", 1, MISSING).kind == "removed"
    assert Change("a", 1, 2).kind == "changed"
