"""Tests for several schedules together and manual schedules in `jobs.schedule`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from jobs.schedule import (
    merged_fire_times,
    next_fire,
)
from jobs.tests.schedule_helpers import (
    HONG_KONG,
    cron,
    daily,
    parse,
    utc,
)

# --- several schedules, manual -----------------------------------------------


def test_merged_fire_times_gives_shared_instant_once() -> None:
    """Two schedules firing at the same instant give that instant once."""
    schedules = [parse(daily("09:00"), HONG_KONG), parse(cron("0 1 * * *"))]
    fires = merged_fire_times(schedules, utc(2026, 3, 1), 3)
    assert [fire.at for fire in fires] == [
        utc(2026, 3, 1, 1),
        utc(2026, 3, 2, 1),
        utc(2026, 3, 3, 1),
    ]


def test_merged_fire_times_interleaves_schedules() -> None:
    """Fire times of several schedules come out merged in time order."""
    schedules = [
        parse(daily("09:30"), HONG_KONG),
        parse(daily("09:00"), HONG_KONG),
        parse({"type": "manual"}),
    ]
    fires = merged_fire_times(schedules, utc(2026, 3, 1), 4)
    assert [fire.at for fire in fires] == [
        utc(2026, 3, 1, 1),
        utc(2026, 3, 1, 1, 30),
        utc(2026, 3, 2, 1),
        utc(2026, 3, 2, 1, 30),
    ]


def test_next_fire_returns_earliest_schedule() -> None:
    """next_fire picks the earliest instant across schedules."""
    schedules = [parse(daily("10:00")), parse(daily("09:00"), HONG_KONG)]
    fire = next_fire(schedules, utc(2026, 3, 1))
    assert fire is not None
    assert fire.at == utc(2026, 3, 1, 1)


def test_next_fire_of_no_schedules_is_none() -> None:
    """An empty list of schedules never fires."""
    assert next_fire([], utc(2026, 3, 1)) is None
    assert merged_fire_times([], utc(2026, 3, 1), 5) == []


def test_manual_schedule_never_fires() -> None:
    """A manual schedule has no fire times."""
    schedule = parse({"type": "manual"})
    assert schedule.is_manual is True
    assert schedule.next_after(utc(2026, 3, 1)) is None
    assert schedule.fire_times(utc(2026, 3, 1), 5) == []
    assert next_fire([schedule], utc(2026, 3, 1)) is None
    assert merged_fire_times([schedule], utc(2026, 3, 1), 5) == []


@pytest.mark.parametrize(
    "document", [daily("09:00"), {"type": "interval", "seconds": 60}]
)
def test_naive_after_raises_value_error(document: dict[str, Any]) -> None:
    """A naive `after` is a programming error, refused with ValueError."""
    naive = datetime(2026, 3, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        parse(document).next_after(naive)


def test_naive_after_raises_for_manual_too() -> None:
    """Even a manual schedule refuses a naive `after`."""
    naive = datetime(2026, 3, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        merged_fire_times([parse({"type": "manual"})], naive, 1)
