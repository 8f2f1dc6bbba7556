"""Blackout windows, purely: which instants they hold, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from jobs import reasons
from jobs.blackout import (
    DEFER,
    MSG_ALREADY_DEFERRED,
    MSG_SKIPPED,
    SKIP,
    Calendar,
    Hit,
    Holiday,
    NamedWindow,
    OneOff,
    Weekly,
    blackout_at,
    plans_blackout,
    wall_to_utc,
)
from jobs.policies import SlotPlan

NEW_YORK = ZoneInfo("America/New_York")
HONG_KONG = ZoneInfo("Asia/Hong_Kong")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def calendar(*windows: NamedWindow, zone: ZoneInfo = NEW_YORK) -> Calendar:
    """Return a calendar "ops" of `windows`."""
    return Calendar(name="ops", zone=zone, windows=windows)


def weekly(weekday: int, start: str, end: str, label: str = "w") -> NamedWindow:
    """Return a weekly window from wall times "HH:MM"."""
    return NamedWindow(
        label, Weekly(weekday, time.fromisoformat(start), time.fromisoformat(end))
    )


# --- one-off ranges and holidays -------------------------------------------------


def test_a_one_off_range_holds_its_start_but_not_its_end() -> None:
    """[start, end): the end instant is outside."""
    cal = calendar(
        NamedWindow("deploy", OneOff(utc(2026, 5, 1, 1), utc(2026, 5, 1, 3)))
    )
    assert blackout_at([cal], utc(2026, 5, 1, 1)) == Hit(
        "ops", "deploy", utc(2026, 5, 1, 1), utc(2026, 5, 1, 3)
    )
    assert blackout_at([cal], utc(2026, 5, 1, 3)) is None
    assert blackout_at([cal], utc(2026, 5, 1, 0, 59)) is None


def test_a_holiday_is_the_whole_local_day_in_the_calendars_zone() -> None:
    """Christmas in Hong Kong is 24 Dec 16:00 to 25 Dec 16:00 UTC."""
    cal = calendar(
        NamedWindow("Christmas", Holiday(date(2026, 12, 25))), zone=HONG_KONG
    )
    hit = blackout_at([cal], utc(2026, 12, 24, 16))
    assert hit is not None
    assert (hit.start, hit.end) == (utc(2026, 12, 24, 16), utc(2026, 12, 25, 16))
    assert blackout_at([cal], utc(2026, 12, 24, 15, 59)) is None
    assert blackout_at([cal], utc(2026, 12, 25, 16)) is None


def test_a_holiday_on_a_spring_forward_day_lasts_23_hours() -> None:
    """8 March 2026 in New York: midnight EST to midnight EDT."""
    cal = calendar(NamedWindow("h", Holiday(date(2026, 3, 8))))
    hit = blackout_at([cal], utc(2026, 3, 8, 12))
    assert hit is not None
    assert (hit.start, hit.end) == (utc(2026, 3, 8, 5), utc(2026, 3, 9, 4))


# --- weekly windows ---------------------------------------------------------------


def test_a_weekly_window_holds_its_weekday_in_the_calendars_zone() -> None:
    """Monday 09:00-10:00 in New York (EST) is 14:00-15:00 UTC."""
    cal = calendar(weekly(0, "09:00", "10:00"))
    assert blackout_at([cal], utc(2026, 1, 5, 14, 30)) is not None  # a Monday
    assert blackout_at([cal], utc(2026, 1, 6, 14, 30)) is None  # a Tuesday
    assert blackout_at([cal], utc(2026, 1, 5, 15)) is None


def test_a_window_crossing_midnight_holds_the_early_hours_of_the_next_day() -> None:
    """Sunday 22:00 to 02:00 holds Monday 01:00, not Sunday 01:00."""
    cal = calendar(weekly(6, "22:00", "02:00"), zone=HONG_KONG)
    hit = blackout_at([cal], utc(2026, 1, 4, 17))  # Monday 01:00 HKT
    assert hit is not None
    assert (hit.start, hit.end) == (utc(2026, 1, 4, 14), utc(2026, 1, 4, 18))
    assert blackout_at([cal], utc(2026, 1, 3, 17)) is None  # Sunday 01:00 HKT


def test_a_window_on_a_spring_forward_night_starts_after_the_gap() -> None:
    """Sunday 02:00-04:00 on 8 March 2026 in New York is 03:00-04:00 EDT."""
    cal = calendar(weekly(6, "02:00", "04:00"))
    hit = blackout_at([cal], utc(2026, 3, 8, 7, 30))  # 03:30 EDT
    assert hit is not None
    assert (hit.start, hit.end) == (utc(2026, 3, 8, 7), utc(2026, 3, 8, 8))
    assert blackout_at([cal], utc(2026, 3, 8, 6, 59)) is None  # 01:59 EST


def test_a_window_on_a_fall_back_night_covers_the_first_of_the_repeated_times() -> None:
    """Sunday 01:00-01:30 on 1 November 2026: the EDT half hour only."""
    cal = calendar(weekly(6, "01:00", "01:30"))
    assert blackout_at([cal], utc(2026, 11, 1, 5, 15)) is not None  # 01:15 EDT
    assert blackout_at([cal], utc(2026, 11, 1, 6, 15)) is None  # 01:15 EST


def test_a_window_spanning_the_fall_back_lasts_one_hour_longer() -> None:
    """Sunday 00:00-03:00 on 1 November 2026 is four real hours."""
    cal = calendar(weekly(6, "00:00", "03:00"))
    hit = blackout_at([cal], utc(2026, 11, 1, 6, 30))  # 01:30 EST
    assert hit is not None
    assert (hit.start, hit.end) == (utc(2026, 11, 1, 4), utc(2026, 11, 1, 8))


def test_a_wall_time_in_a_gap_maps_to_the_gaps_end() -> None:
    """02:30 on 8 March 2026 in New York is 03:00 EDT, 07:00 UTC."""
    assert wall_to_utc(date(2026, 3, 8), time(2, 30), NEW_YORK) == utc(2026, 3, 8, 7)


def test_overlapping_windows_give_the_end_of_the_last_one() -> None:
    """Two touching windows: a slot in the first is clear only after both."""
    first = weekly(0, "09:00", "10:00", "a")
    second = weekly(0, "10:00", "11:00", "b")
    hit = blackout_at([calendar(first, second)], utc(2026, 1, 5, 14, 30))
    assert hit is not None
    assert (hit.label, hit.end) == ("a", utc(2026, 1, 5, 16))


def test_no_calendars_holds_nothing() -> None:
    """An empty list of calendars never removes a slot."""
    assert blackout_at([], utc(2026, 1, 5, 14)) is None


# --- what slots become ---------------------------------------------------------------

WINDOW = calendar(NamedWindow("deploy", OneOff(utc(2026, 5, 1, 1), utc(2026, 5, 1, 3))))


def run(at: datetime) -> SlotPlan:
    """Return the plan of a slot that runs."""
    return SlotPlan(at, is_run=True)


def test_skip_records_a_slot_inside_a_window_as_skipped_naming_it() -> None:
    """Reason code blackout, with "calendar: window" and its end."""
    plans = plans_blackout(
        [run(utc(2026, 5, 1, 0)), run(utc(2026, 5, 1, 2))],
        [WINDOW],
        action=SKIP,
        is_deferred=lambda hit: False,
    )
    assert plans[0] == run(utc(2026, 5, 1, 0))
    assert plans[1] == SlotPlan(
        utc(2026, 5, 1, 2),
        is_run=False,
        reason=MSG_SKIPPED.format(window="'ops: deploy'", end=utc(2026, 5, 1, 3)),
        reason_code=reasons.BLACKOUT,
    )
    assert (
        plans[1].reason
        == "Inside blackout window 'ops: deploy' (until 2026-05-01 03:00 UTC)."
    )


def test_defer_runs_the_first_slot_of_a_window_at_its_end() -> None:
    """The first slot waits for the end; the next ones in it are skipped."""
    plans = plans_blackout(
        [run(utc(2026, 5, 1, 1)), run(utc(2026, 5, 1, 2))],
        [WINDOW],
        action=DEFER,
        is_deferred=lambda hit: False,
    )
    assert plans[0] == SlotPlan(
        utc(2026, 5, 1, 1), is_run=True, not_before=utc(2026, 5, 1, 3)
    )
    assert plans[1].is_run is False
    assert plans[1].reason_code == reasons.BLACKOUT
    assert plans[1].reason == MSG_ALREADY_DEFERRED.format(
        window="'ops: deploy'", end=utc(2026, 5, 1, 3)
    )


def test_defer_skips_when_an_earlier_step_already_deferred_a_slot() -> None:
    """`is_deferred` reports a run already waiting for that window's end."""
    plans = plans_blackout(
        [run(utc(2026, 5, 1, 2))], [WINDOW], action=DEFER, is_deferred=lambda hit: True
    )
    assert plans[0].is_run is False


def test_skips_and_blocks_are_left_as_they_are() -> None:
    """A misfire skip inside a window keeps its own reason."""
    skipped = SlotPlan(utc(2026, 5, 1, 2), is_run=False, reason="x", reason_code="y")
    assert plans_blackout(
        [skipped], [WINDOW], action=SKIP, is_deferred=lambda hit: False
    ) == [skipped]


@pytest.mark.parametrize("action", [SKIP, DEFER])
def test_without_calendars_every_plan_stays(action: str) -> None:
    """No calendar, no change."""
    plans = [run(utc(2026, 5, 1, 2))]
    assert (
        plans_blackout(plans, [], action=action, is_deferred=lambda h: False) == plans
    )
