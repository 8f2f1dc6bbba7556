"""Tests for interval schedules in `jobs.schedule`: elapsed time, never DST."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from jobs.tests.schedule_helpers import (
    EPOCH,
    NEW_YORK,
    fire_ats,
    parse,
    utc,
)

# --- interval ------------------------------------------------------------------


def test_interval_keeps_elapsed_seconds_across_spring_forward() -> None:
    """Every 3600 s stays 3600 s apart across New York's gap."""
    fires = parse({"type": "interval", "seconds": 3600}, NEW_YORK).fire_times(
        utc(2026, 3, 8, 5, 30), 3
    )
    assert [fire.at for fire in fires] == [
        utc(2026, 3, 8, 6),
        utc(2026, 3, 8, 7),
        utc(2026, 3, 8, 8),
    ]
    assert [fire.local.hour for fire in fires] == [1, 3, 4]


def test_interval_keeps_elapsed_seconds_across_fall_back() -> None:
    """Every 3600 s stays 3600 s apart across New York's fold."""
    fires = parse({"type": "interval", "seconds": 3600}, NEW_YORK).fire_times(
        utc(2026, 11, 1, 4, 30), 3
    )
    assert [fire.at for fire in fires] == [
        utc(2026, 11, 1, 5),
        utc(2026, 11, 1, 6),
        utc(2026, 11, 1, 7),
    ]
    assert [fire.local.hour for fire in fires] == [1, 1, 2]


def test_interval_is_anchored_to_unix_epoch() -> None:
    """Interval fires land on whole multiples of the period since 1970."""
    assert fire_ats({"type": "interval", "seconds": 5400}, utc(2026, 1, 1), 2) == [
        utc(2026, 1, 1, 1, 30),
        utc(2026, 1, 1, 3),
    ]


def test_interval_after_with_microseconds() -> None:
    """A fractional `after` just before a slot gives that slot."""
    after = datetime(2026, 1, 1, 0, 59, 59, 999_999, tzinfo=UTC)
    assert fire_ats({"type": "interval", "seconds": 3600}, after, 1) == [
        utc(2026, 1, 1, 1)
    ]


def test_interval_odd_period_is_exact_elapsed_time() -> None:
    """Every 7 s fires 7 s apart, on multiples of 7 s since the epoch."""
    fires = fire_ats({"type": "interval", "seconds": 7}, utc(2026, 1, 1), 3)
    assert fires[0] == EPOCH + timedelta(seconds=(1_767_225_600 // 7 + 1) * 7)
    assert [b - a for a, b in itertools.pairwise(fires)] == [timedelta(seconds=7)] * 2
