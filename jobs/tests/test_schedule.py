"""Tests for the pure scheduling engine in `jobs.schedule`.

Plain pytest (no Django). Every expected instant is an exact UTC datetime;
DST cases pin real zones on real transition days. The property-based tests
at the end compare the engine with a brute-force reference that walks UTC
minute by minute and applies DESIGN.md's rules directly.
"""

from __future__ import annotations

import calendar
import functools
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jobs.schedule import (
    CRON_ALIASES,
    KINDS,
    MAX_INTERVAL_SECONDS,
    MSG_CRON_BACKWARDS,
    MSG_CRON_FIELD,
    MSG_CRON_FIELDS,
    MSG_CRON_NEVER,
    MSG_CRON_TEXT,
    MSG_DAY,
    MSG_INTEGER,
    MSG_MINUTE,
    MSG_MONTH,
    MSG_NOT_OBJECT,
    MSG_REQUIRED,
    MSG_SECONDS,
    MSG_SECONDS_MAX,
    MSG_TIME,
    MSG_TIMEZONE,
    MSG_UNKNOWN_FIELD,
    MSG_UNKNOWN_TYPE,
    MSG_WEEKDAY,
    MSG_WEEKDAYS,
    MSG_YEARLY_DAY,
    FireTime,
    Schedule,
    ScheduleError,
    merged_fire_times,
    next_fire,
    parse_schedule,
    parse_timezone,
)

NEW_YORK = "America/New_York"
LONDON = "Europe/London"
SYDNEY = "Australia/Sydney"
LORD_HOWE = "Australia/Lord_Howe"
HONG_KONG = "Asia/Hong_Kong"
KATHMANDU = "Asia/Kathmandu"
ZONES = (
    "UTC",
    HONG_KONG,
    NEW_YORK,
    LONDON,
    SYDNEY,
    LORD_HOWE,
    KATHMANDU,
    "America/Sao_Paulo",
    "Europe/Berlin",
    "Pacific/Chatham",
    "America/St_Johns",
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MINUTE = timedelta(minutes=1)
ONE_SECOND = timedelta(seconds=1)
SETTINGS = settings(deadline=None, database=None)


def utc(*args: int) -> datetime:
    """Return an aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def wall(*args: int) -> datetime:
    """Return a naive wall-clock datetime."""
    return datetime(*args)  # noqa: DTZ001 - wall times are naive by design


def parse(document: dict[str, Any], timezone: str = "UTC") -> Schedule:
    """Parse `document` with `timezone` as the job's default zone."""
    return parse_schedule(document, default_timezone=timezone)


def fire_ats(
    document: dict[str, Any], after: datetime, count: int, timezone: str = "UTC"
) -> list[datetime]:
    """Return the UTC instants of the next `count` fires."""
    return [fire.at for fire in parse(document, timezone).fire_times(after, count)]


def daily(at: str) -> dict[str, Any]:
    """Return a daily document."""
    return {"type": "daily", "time": at}


def cron(expression: str) -> dict[str, Any]:
    """Return a cron document."""
    return {"type": "cron", "expression": expression}


# --- plain wall-clock schedules ----------------------------------------------


def test_daily_hong_kong_morning_fires_at_one_utc() -> None:
    """Daily 09:00 in Hong Kong (+08:00) fires at 01:00 UTC."""
    assert fire_ats(daily("09:00"), utc(2026, 3, 1), 3, HONG_KONG) == [
        utc(2026, 3, 1, 1),
        utc(2026, 3, 2, 1),
        utc(2026, 3, 3, 1),
    ]


def test_weekly_monday_early_hong_kong_fires_sunday_utc() -> None:
    """Weekly Monday 05:00 HKT fires Sunday 21:00 UTC."""
    document = {"type": "weekly", "weekdays": ["mon"], "time": "05:00"}
    assert fire_ats(document, utc(2026, 3, 1), 2, HONG_KONG) == [
        utc(2026, 3, 1, 21),
        utc(2026, 3, 8, 21),
    ]


def test_weekly_several_days_fire_in_order() -> None:
    """Weekly on several days fires on each of them, in date order."""
    document = {"type": "weekly", "weekdays": ["fri", "mon", "wed"], "time": "12:00"}
    assert fire_ats(document, utc(2026, 3, 1), 4) == [
        utc(2026, 3, 2, 12),
        utc(2026, 3, 4, 12),
        utc(2026, 3, 6, 12),
        utc(2026, 3, 9, 12),
    ]


def test_monthly_first_day_hong_kong_fires_previous_day_utc() -> None:
    """Monthly day 1 at 07:00 HKT fires 23:00 UTC on the previous month's last day."""
    document = {"type": "monthly", "day": 1, "time": "07:00"}
    assert fire_ats(document, utc(2026, 3, 1), 3, HONG_KONG) == [
        utc(2026, 3, 31, 23),
        utc(2026, 4, 30, 23),
        utc(2026, 5, 31, 23),
    ]


def test_monthly_day_31_uses_last_day_of_short_months() -> None:
    """Monthly day 31 fires on Feb 28 (non-leap) and Apr 30."""
    document = {"type": "monthly", "day": 31, "time": "09:00"}
    assert fire_ats(document, utc(2026, 1, 1), 4) == [
        utc(2026, 1, 31, 9),
        utc(2026, 2, 28, 9),
        utc(2026, 3, 31, 9),
        utc(2026, 4, 30, 9),
    ]


def test_monthly_day_31_uses_feb_29_in_leap_year() -> None:
    """Monthly day 31 fires on Feb 29 in a leap year."""
    document = {"type": "monthly", "day": 31, "time": "09:00"}
    assert fire_ats(document, utc(2028, 2, 1), 2) == [
        utc(2028, 2, 29, 9),
        utc(2028, 3, 31, 9),
    ]


def test_monthly_day_30_fires_feb_28_not_march() -> None:
    """Monthly day 30 clamps to Feb 28 instead of spilling into March."""
    document = {"type": "monthly", "day": 30, "time": "00:00"}
    assert fire_ats(document, utc(2026, 2, 1), 2) == [
        utc(2026, 2, 28),
        utc(2026, 3, 30),
    ]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (utc(2026, 1, 31, 12), [utc(2026, 2, 28, 7), utc(2026, 3, 31, 7)]),
        (utc(2028, 1, 31, 12), [utc(2028, 2, 29, 7), utc(2028, 3, 31, 7)]),
        (utc(2026, 4, 1), [utc(2026, 4, 30, 7), utc(2026, 5, 31, 7)]),
    ],
)
def test_monthly_last_day(after: datetime, expected: list[datetime]) -> None:
    """Monthly "last" fires on each month's last day (Feb leap/non-leap, April)."""
    document = {"type": "monthly", "day": "last", "time": "07:00"}
    assert fire_ats(document, after, 2) == expected


def test_yearly_feb_29_falls_back_to_feb_28_outside_leap_years() -> None:
    """Yearly Feb 29 07:00 HKT fires on Feb 28 except in 2028 (23:00 UTC before)."""
    document = {"type": "yearly", "month": 2, "day": 29, "time": "07:00"}
    assert fire_ats(document, utc(2026, 1, 1), 4, HONG_KONG) == [
        utc(2026, 2, 27, 23),
        utc(2027, 2, 27, 23),
        utc(2028, 2, 28, 23),
        utc(2029, 2, 27, 23),
    ]


def test_yearly_feb_29_in_century_non_leap_year_is_feb_28() -> None:
    """2100 is not a leap year, so yearly Feb 29 fires on Feb 28 2100."""
    document = {"type": "yearly", "month": 2, "day": 29, "time": "00:00"}
    assert fire_ats(document, utc(2099, 3, 1), 2) == [
        utc(2100, 2, 28),
        utc(2101, 2, 28),
    ]


def test_yearly_last_day_of_february() -> None:
    """Yearly "last" of February follows leap years."""
    document = {"type": "yearly", "month": 2, "day": "last", "time": "00:00"}
    assert fire_ats(document, utc(2027, 3, 1), 2) == [
        utc(2028, 2, 29),
        utc(2029, 2, 28),
    ]


def test_hourly_fires_every_hour_at_minute() -> None:
    """Hourly at :15 fires at quarter past every hour."""
    document = {"type": "hourly", "minute": 15}
    assert fire_ats(document, utc(2026, 3, 1, 0, 15), 3) == [
        utc(2026, 3, 1, 1, 15),
        utc(2026, 3, 1, 2, 15),
        utc(2026, 3, 1, 3, 15),
    ]


def test_kathmandu_quarter_hour_offset_daily() -> None:
    """Daily 09:00 in Kathmandu (+05:45) fires at 03:15 UTC."""
    assert fire_ats(daily("09:00"), utc(2026, 3, 1), 2, KATHMANDU) == [
        utc(2026, 3, 1, 3, 15),
        utc(2026, 3, 2, 3, 15),
    ]


def test_kathmandu_quarter_hour_offset_hourly() -> None:
    """Hourly at :00 in Kathmandu fires at :15 past each UTC hour."""
    document = {"type": "hourly", "minute": 0}
    assert fire_ats(document, utc(2026, 3, 1), 2, KATHMANDU) == [
        utc(2026, 3, 1, 0, 15),
        utc(2026, 3, 1, 1, 15),
    ]


def test_after_is_exclusive() -> None:
    """An instant equal to `after` is not returned again."""
    assert fire_ats(daily("09:00"), utc(2026, 3, 1, 9), 1) == [utc(2026, 3, 2, 9)]


def test_after_in_other_zone_is_the_same_instant() -> None:
    """`after` may be aware in any zone; only its instant matters."""
    after = datetime(2026, 3, 1, 9, tzinfo=ZoneInfo(HONG_KONG))
    assert fire_ats(daily("01:30"), after, 1) == [utc(2026, 3, 1, 1, 30)]


def test_fire_time_local_is_in_schedule_zone() -> None:
    """FireTime.local carries the schedule's zone and FireTime.at is UTC."""
    fire = parse(daily("09:00"), HONG_KONG).next_after(utc(2026, 3, 1))
    assert fire == FireTime(
        at=utc(2026, 3, 1, 1),
        local=datetime(2026, 3, 1, 9, tzinfo=ZoneInfo(HONG_KONG)),
    )
    assert fire.at.tzinfo is UTC
    assert fire.local.tzinfo == ZoneInfo(HONG_KONG)


def test_document_timezone_wins_over_default() -> None:
    """A document's own timezone overrides the job's default zone."""
    document = {"type": "daily", "time": "09:00", "timezone": KATHMANDU}
    schedule = parse(document, HONG_KONG)
    assert schedule.zone == ZoneInfo(KATHMANDU)
    assert schedule.document["timezone"] == KATHMANDU


def test_empty_document_timezone_uses_default() -> None:
    """A blank timezone (an empty form field) means the job's default zone."""
    schedule = parse({"type": "daily", "time": "09:00", "timezone": ""}, HONG_KONG)
    assert schedule.zone == ZoneInfo(HONG_KONG)
    assert "timezone" not in schedule.document


@pytest.mark.parametrize(
    ("document", "normalised"),
    [
        ({"type": "daily", "time": "9:05"}, {"type": "daily", "time": "09:05"}),
        ({"type": "hourly", "minute": "15"}, {"type": "hourly", "minute": 15}),
        (
            {"type": "weekly", "weekdays": ["WED", "mon", "mon"], "time": "05:00"},
            {"type": "weekly", "weekdays": ["mon", "wed"], "time": "05:00"},
        ),
        (
            {"type": "monthly", "day": "last", "time": "07:00"},
            {"type": "monthly", "day": "last", "time": "07:00"},
        ),
        (
            {"type": "yearly", "month": "2", "day": "29", "time": "07:00"},
            {"type": "yearly", "month": 2, "day": 29, "time": "07:00"},
        ),
        ({"type": "interval", "seconds": "90"}, {"type": "interval", "seconds": 90}),
        (cron("0  9 * *   mon-fri"), cron("0 9 * * mon-fri")),
        ({"type": "manual"}, {"type": "manual"}),
    ],
)
def test_parse_normalises_document(
    document: dict[str, Any], normalised: dict[str, Any]
) -> None:
    """parse_schedule returns a normalised copy of the document."""
    assert parse(document).document == normalised


# --- spring-forward gaps and fall-back folds: fixed-time schedules -----------
# 2026: New York springs forward Mar 8 02:00 EST -> 03:00 EDT (07:00 UTC) and
# falls back Nov 1 02:00 EDT -> 01:00 EST (06:00 UTC); in 2027 it springs
# forward on Mar 14, so 2027-03-08 is still EST. London: Mar 29 01:00 GMT
# -> 02:00 BST (01:00 UTC), Oct 25 02:00 BST -> 01:00 GMT (01:00 UTC). Sydney
# (south): Oct 4 02:00 AEST -> 03:00 AEDT (Oct 3 16:00 UTC), Apr 5 03:00 AEDT
# -> 02:00 AEST (Apr 4 16:00 UTC). Lord Howe shifts 30 minutes on the same
# days: Oct 4 02:00 -> 02:30 (Oct 3 15:30 UTC), Apr 5 02:00 -> 01:30 (Apr 4
# 15:00 UTC).


@pytest.mark.parametrize(
    ("zone", "document", "after", "expected", "moved_from"),
    [
        (
            NEW_YORK,
            daily("02:30"),
            utc(2026, 3, 7, 12),
            [utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)],
            wall(2026, 3, 8, 2, 30),
        ),
        (
            NEW_YORK,
            {"type": "weekly", "weekdays": ["sun"], "time": "02:15"},
            utc(2026, 3, 7),
            [utc(2026, 3, 8, 7), utc(2026, 3, 15, 6, 15)],
            wall(2026, 3, 8, 2, 15),
        ),
        (
            NEW_YORK,
            {"type": "monthly", "day": 8, "time": "02:00"},
            utc(2026, 3, 1),
            [utc(2026, 3, 8, 7), utc(2026, 4, 8, 6)],
            wall(2026, 3, 8, 2, 0),
        ),
        (
            NEW_YORK,
            {"type": "yearly", "month": 3, "day": 8, "time": "02:59"},
            utc(2026, 1, 1),
            [utc(2026, 3, 8, 7), utc(2027, 3, 8, 7, 59)],
            wall(2026, 3, 8, 2, 59),
        ),
        (
            NEW_YORK,
            cron("30 2 * * *"),
            utc(2026, 3, 7, 12),
            [utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)],
            wall(2026, 3, 8, 2, 30),
        ),
        (
            LONDON,
            daily("01:30"),
            utc(2026, 3, 28, 12),
            [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)],
            wall(2026, 3, 29, 1, 30),
        ),
        (
            SYDNEY,
            daily("02:30"),
            utc(2026, 10, 3),
            [utc(2026, 10, 3, 16), utc(2026, 10, 4, 15, 30)],
            wall(2026, 10, 4, 2, 30),
        ),
        (
            LORD_HOWE,
            daily("02:15"),
            utc(2026, 10, 3),
            [utc(2026, 10, 3, 15, 30), utc(2026, 10, 4, 15, 15)],
            wall(2026, 10, 4, 2, 15),
        ),
    ],
)
def test_fixed_time_in_gap_fires_once_at_gap_end(
    zone: str,
    document: dict[str, Any],
    after: datetime,
    expected: list[datetime],
    moved_from: datetime,
) -> None:
    """A skipped wall time fires once, at the first instant after the gap."""
    fires = parse(document, zone).fire_times(after, 2)
    assert [fire.at for fire in fires] == expected
    assert [fire.moved_from for fire in fires] == [moved_from, None]


def test_gap_end_local_time_is_after_the_gap() -> None:
    """The moved fire's local time is the first wall time after the gap."""
    fire = parse(daily("02:30"), NEW_YORK).next_after(utc(2026, 3, 7, 12))
    assert fire is not None
    assert fire.local.replace(tzinfo=None) == wall(2026, 3, 8, 3, 0)
    assert fire.local.utcoffset() == timedelta(hours=-4)


def test_lord_howe_gap_moves_to_half_past_two() -> None:
    """Lord Howe's 30-minute gap moves 02:15 to 02:30 local (+11:00)."""
    fire = parse(daily("02:15"), LORD_HOWE).next_after(utc(2026, 10, 3))
    assert fire is not None
    assert fire.local.replace(tzinfo=None) == wall(2026, 10, 4, 2, 30)
    assert fire.local.utcoffset() == timedelta(hours=11)


def test_several_fixed_times_in_one_gap_fire_once() -> None:
    """Two cron times inside the same gap fire together, as one instant."""
    fires = parse(cron("0,30 2 * * *"), NEW_YORK).fire_times(utc(2026, 3, 7, 12), 3)
    assert [fire.at for fire in fires] == [
        utc(2026, 3, 8, 7),
        utc(2026, 3, 9, 6),
        utc(2026, 3, 9, 6, 30),
    ]
    assert fires[0].moved_from == wall(2026, 3, 8, 2, 0)


def test_gap_time_and_gap_end_slot_fire_once() -> None:
    """A moved 02:30 and a regular 03:00 on the gap day share one instant."""
    fires = parse(cron("0,30 2,3 * * *"), NEW_YORK).fire_times(utc(2026, 3, 8, 6), 3)
    assert [fire.at for fire in fires] == [
        utc(2026, 3, 8, 7),
        utc(2026, 3, 8, 7, 30),
        utc(2026, 3, 9, 6),
    ]
    assert [fire.moved_from for fire in fires] == [wall(2026, 3, 8, 2, 0), None, None]


@pytest.mark.parametrize(
    ("zone", "document", "after", "expected"),
    [
        (
            NEW_YORK,
            daily("01:30"),
            utc(2026, 10, 31, 12),
            [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
        ),
        (
            NEW_YORK,
            {"type": "weekly", "weekdays": ["sun"], "time": "01:00"},
            utc(2026, 10, 31),
            [utc(2026, 11, 1, 5), utc(2026, 11, 8, 6)],
        ),
        (
            NEW_YORK,
            {"type": "monthly", "day": 1, "time": "01:59"},
            utc(2026, 10, 15),
            [utc(2026, 11, 1, 5, 59), utc(2026, 12, 1, 6, 59)],
        ),
        (
            NEW_YORK,
            {"type": "yearly", "month": 11, "day": 1, "time": "01:00"},
            utc(2026, 1, 1),
            [utc(2026, 11, 1, 5), utc(2027, 11, 1, 5)],
        ),
        (
            NEW_YORK,
            cron("30 1 * * *"),
            utc(2026, 10, 31, 12),
            [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
        ),
        (
            LONDON,
            daily("01:30"),
            utc(2026, 10, 24, 12),
            [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        ),
        (
            SYDNEY,
            daily("02:30"),
            utc(2026, 4, 4),
            [utc(2026, 4, 4, 15, 30), utc(2026, 4, 5, 16, 30)],
        ),
        (
            LORD_HOWE,
            daily("01:45"),
            utc(2026, 4, 4),
            [utc(2026, 4, 4, 14, 45), utc(2026, 4, 5, 15, 15)],
        ),
    ],
)
def test_fixed_time_in_fold_fires_once_at_first_occurrence(
    zone: str, document: dict[str, Any], after: datetime, expected: list[datetime]
) -> None:
    """An ambiguous wall time fires once, at its first occurrence."""
    fires = parse(document, zone).fire_times(after, 2)
    assert [fire.at for fire in fires] == expected
    assert [fire.moved_from for fire in fires] == [None, None]


def test_fixed_time_in_fold_not_repeated_when_after_is_between() -> None:
    """With `after` between a fold's two 01:30s, the next fire is the next day."""
    after = utc(2026, 11, 1, 6)  # 01:00 EST, after 01:30 EDT, before 01:30 EST
    assert fire_ats(daily("01:30"), after, 1, NEW_YORK) == [utc(2026, 11, 2, 6, 30)]


def test_fixed_fold_fire_has_first_occurrence_offset() -> None:
    """The fold fire's local time carries the pre-change offset (EDT, fold=0)."""
    fire = parse(daily("01:30"), NEW_YORK).next_after(utc(2026, 10, 31, 12))
    assert fire is not None
    assert fire.local.utcoffset() == timedelta(hours=-4)
    assert fire.local.fold == 0


# --- spring-forward gaps and fall-back folds: wildcard schedules -------------


@pytest.mark.parametrize(
    ("zone", "document", "after", "expected"),
    [
        (
            NEW_YORK,
            {"type": "hourly", "minute": 30},
            utc(2026, 3, 8, 5),
            [utc(2026, 3, 8, 5, 30), utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30)],
        ),
        (
            NEW_YORK,
            cron("*/20 * * * *"),
            utc(2026, 3, 8, 6, 30),
            [utc(2026, 3, 8, 6, 40), utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 20)],
        ),
        (
            LONDON,
            cron("30 * * * *"),
            utc(2026, 3, 28, 23),
            [
                utc(2026, 3, 28, 23, 30),
                utc(2026, 3, 29, 0, 30),
                utc(2026, 3, 29, 1, 30),
            ],
        ),
        (
            SYDNEY,
            cron("0 * * * *"),
            utc(2026, 10, 3, 14),
            [utc(2026, 10, 3, 15), utc(2026, 10, 3, 16), utc(2026, 10, 3, 17)],
        ),
        (
            LORD_HOWE,
            {"type": "hourly", "minute": 15},
            utc(2026, 10, 3, 14),
            [utc(2026, 10, 3, 14, 45), utc(2026, 10, 3, 16, 15)],
        ),
    ],
)
def test_wildcard_skips_gap_times(
    zone: str, document: dict[str, Any], after: datetime, expected: list[datetime]
) -> None:
    """Wildcard schedules never fire at wall times a gap skipped."""
    fires = parse(document, zone).fire_times(after, len(expected))
    assert [fire.at for fire in fires] == expected
    assert all(fire.moved_from is None for fire in fires)


def test_wildcard_gap_local_hours_skip_the_gap_hour() -> None:
    """Hourly :30 in New York on the gap day reads 00:30, 01:30, 03:30 local."""
    fires = parse({"type": "hourly", "minute": 30}, NEW_YORK).fire_times(
        utc(2026, 3, 8, 5), 3
    )
    assert [fire.local.hour for fire in fires] == [0, 1, 3]


@pytest.mark.parametrize(
    ("zone", "document", "after", "expected", "local_hours"),
    [
        (
            NEW_YORK,
            {"type": "hourly", "minute": 30},
            utc(2026, 11, 1, 4),
            [
                utc(2026, 11, 1, 4, 30),
                utc(2026, 11, 1, 5, 30),
                utc(2026, 11, 1, 6, 30),
                utc(2026, 11, 1, 7, 30),
            ],
            [0, 1, 1, 2],
        ),
        (
            LONDON,
            cron("30 * * * *"),
            utc(2026, 10, 24, 23),
            [
                utc(2026, 10, 24, 23, 30),
                utc(2026, 10, 25, 0, 30),
                utc(2026, 10, 25, 1, 30),
                utc(2026, 10, 25, 2, 30),
            ],
            [0, 1, 1, 2],
        ),
        (
            SYDNEY,
            cron("0 * * * *"),
            utc(2026, 4, 4, 13, 30),
            [
                utc(2026, 4, 4, 14),
                utc(2026, 4, 4, 15),
                utc(2026, 4, 4, 16),
                utc(2026, 4, 4, 17),
            ],
            [1, 2, 2, 3],
        ),
        (
            LORD_HOWE,
            {"type": "hourly", "minute": 45},
            utc(2026, 4, 4, 13),
            [
                utc(2026, 4, 4, 13, 45),
                utc(2026, 4, 4, 14, 45),
                utc(2026, 4, 4, 15, 15),
                utc(2026, 4, 4, 16, 15),
            ],
            [0, 1, 1, 2],
        ),
        (
            NEW_YORK,
            cron("*/20 1 * * *"),
            utc(2026, 11, 1, 5),
            [
                utc(2026, 11, 1, 5, 20),
                utc(2026, 11, 1, 5, 40),
                utc(2026, 11, 1, 6),
                utc(2026, 11, 1, 6, 20),
            ],
            [1, 1, 1, 1],
        ),
    ],
)
def test_wildcard_fires_twice_in_fold(
    zone: str,
    document: dict[str, Any],
    after: datetime,
    expected: list[datetime],
    local_hours: list[int],
) -> None:
    """Wildcard schedules fire at both occurrences of a fold's wall times."""
    fires = parse(document, zone).fire_times(after, len(expected))
    assert [fire.at for fire in fires] == expected
    assert [fire.local.hour for fire in fires] == local_hours


def test_wildcard_fold_second_pass_has_fold_set() -> None:
    """The second 01:30 in New York's fold carries fold=1 and EST."""
    fires = parse({"type": "hourly", "minute": 30}, NEW_YORK).fire_times(
        utc(2026, 11, 1, 5), 2
    )
    assert [(f.local.fold, f.local.utcoffset()) for f in fires] == [
        (0, timedelta(hours=-4)),
        (1, timedelta(hours=-5)),
    ]


@pytest.mark.parametrize(
    ("expression", "is_wildcard"),
    [
        ("0 9 * * *", False),
        ("0,30 1-3 * * *", False),
        ("*/20 * * * *", True),
        ("30 * * * *", True),
        ("0 */2 * * *", True),
        ("* 9 * * *", True),
        ("@hourly", True),
        ("@daily", False),
    ],
)
def test_cron_wildcard_when_minute_or_hour_starts_with_star(
    expression: str, is_wildcard: bool
) -> None:
    """Cron is wildcard exactly when its minute or hour field starts with '*'."""
    assert parse(cron(expression)).is_wildcard is is_wildcard


def test_hourly_is_wildcard_and_daily_is_not() -> None:
    """Hourly schedules follow wildcard DST rules, daily ones fixed rules."""
    assert parse({"type": "hourly", "minute": 0}).is_wildcard is True
    assert parse(daily("09:00")).is_wildcard is False


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


# --- cron features -------------------------------------------------------------


def test_cron_names_for_months_and_weekday_ranges() -> None:
    """Month and weekday names work, with weekday ranges (mon-fri)."""
    assert fire_ats(cron("0 9 * jan mon-fri"), utc(2026, 1, 29), 4) == [
        utc(2026, 1, 29, 9),
        utc(2026, 1, 30, 9),
        utc(2027, 1, 1, 9),
        utc(2027, 1, 4, 9),
    ]


def test_cron_lists_ranges_and_steps() -> None:
    """Lists, ranges and steps combine within and across fields."""
    assert fire_ats(cron("0,30 9-10 * * *"), utc(2026, 3, 1), 5) == [
        utc(2026, 3, 1, 9),
        utc(2026, 3, 1, 9, 30),
        utc(2026, 3, 1, 10),
        utc(2026, 3, 1, 10, 30),
        utc(2026, 3, 2, 9),
    ]
    assert fire_ats(cron("10-40/15 12 * * *"), utc(2026, 3, 1), 3) == [
        utc(2026, 3, 1, 12, 10),
        utc(2026, 3, 1, 12, 25),
        utc(2026, 3, 1, 12, 40),
    ]


@pytest.mark.parametrize("expression", ["0 0 * * 0", "0 0 * * 7", "0 0 * * sun"])
def test_cron_zero_and_seven_are_sunday(expression: str) -> None:
    """Day-of-week 0, 7 and "sun" all mean Sunday."""
    assert fire_ats(cron(expression), utc(2026, 3, 2), 2) == [
        utc(2026, 3, 8),
        utc(2026, 3, 15),
    ]


@pytest.mark.parametrize(
    ("expression", "field", "part"),
    [
        ("0 0 * * 6-1", "day-of-week", "6-1"),
        ("0 0 * * sat-mon", "day-of-week", "sat-mon"),
        ("0 0 * * 7-0", "day-of-week", "7-0"),
        ("0 22-1 * * *", "hour", "22-1"),
    ],
)
def test_cron_range_running_backwards_is_refused(
    expression: str, field: str, part: str
) -> None:
    """Like ISC cron, a range whose start is past its end is an error."""
    with pytest.raises(ScheduleError) as caught:
        parse(cron(expression))
    assert caught.value.field == "expression"
    assert caught.value.message == MSG_CRON_FIELD.format(
        field=field, value=part, reason=MSG_CRON_BACKWARDS.format(part=part)
    )


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("@hourly", [utc(2026, 3, 4, 13), utc(2026, 3, 4, 14)]),
        ("@daily", [utc(2026, 3, 5), utc(2026, 3, 6)]),
        ("@midnight", [utc(2026, 3, 5), utc(2026, 3, 6)]),
        ("@weekly", [utc(2026, 3, 8), utc(2026, 3, 15)]),
        ("@monthly", [utc(2026, 4, 1), utc(2026, 5, 1)]),
        ("@yearly", [utc(2027, 1, 1), utc(2028, 1, 1)]),
        ("@annually", [utc(2027, 1, 1), utc(2028, 1, 1)]),
        ("@DAILY", [utc(2026, 3, 5), utc(2026, 3, 6)]),
    ],
)
def test_cron_aliases(alias: str, expected: list[datetime]) -> None:
    """The @ aliases fire like their five-field equivalents."""
    assert fire_ats(cron(alias), utc(2026, 3, 4, 12, 30), 2) == expected


def test_cron_alias_in_zone() -> None:
    """@daily in Hong Kong fires at local midnight (16:00 UTC)."""
    assert fire_ats(cron("@daily"), utc(2026, 3, 4), 1, HONG_KONG) == [
        utc(2026, 3, 4, 16)
    ]


def test_cron_both_day_fields_restricted_fire_on_either() -> None:
    """With both day fields restricted, the 1st, the 15th and Fridays all fire."""
    assert fire_ats(cron("0 0 1,15 * fri"), utc(2026, 3, 1), 7) == [
        utc(2026, 3, 6),
        utc(2026, 3, 13),
        utc(2026, 3, 15),
        utc(2026, 3, 20),
        utc(2026, 3, 27),
        utc(2026, 4, 1),
        utc(2026, 4, 3),
    ]


def test_cron_star_led_day_of_month_requires_both() -> None:
    """'*/2' day-of-month with Monday fires only on Mondays with odd dates."""
    assert fire_ats(cron("0 0 */2 * mon"), utc(2025, 1, 1), 6) == [
        utc(2025, 1, 13),
        utc(2025, 1, 27),
        utc(2025, 2, 3),
        utc(2025, 2, 17),
        utc(2025, 3, 3),
        utc(2025, 3, 17),
    ]


def test_cron_star_led_day_of_week_requires_both() -> None:
    """'*/5' day-of-week (Sun, Fri) with the 13th fires on 13ths that are either."""
    assert fire_ats(cron("0 0 13 * */5"), utc(2026, 1, 1), 4) == [
        utc(2026, 2, 13),
        utc(2026, 3, 13),
        utc(2026, 9, 13),
        utc(2026, 11, 13),
    ]


def test_cron_full_weekday_range_with_day_of_month_fires_daily() -> None:
    """'0-7' day-of-week is restricted in form, so with the 1st every day fires."""
    assert fire_ats(cron("0 0 1 * 0-7"), utc(2026, 3, 1), 2) == [
        utc(2026, 3, 2),
        utc(2026, 3, 3),
    ]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("59-59 * * * *", [utc(2026, 3, 2, 0, 59), utc(2026, 3, 2, 1, 59)]),
        ("0 0 * * 3-3", [utc(2026, 3, 4), utc(2026, 3, 11)]),
        ("0 0 * * wed-wed", [utc(2026, 3, 4), utc(2026, 3, 11)]),
        ("0 0 * * 7-7", [utc(2026, 3, 8), utc(2026, 3, 15)]),
        ("0 0 1 1-1 *", [utc(2027, 1, 1), utc(2028, 1, 1)]),
        ("0 0 1 jan-1 *", [utc(2027, 1, 1), utc(2028, 1, 1)]),
        ("0 0 * * 3-3/2", [utc(2026, 3, 4), utc(2026, 3, 11)]),
        ("10,5-5 12 * * *", [utc(2026, 3, 2, 12, 5), utc(2026, 3, 2, 12, 10)]),
    ],
)
def test_cron_equal_range_is_one_value(
    expression: str, expected: list[datetime]
) -> None:
    """An equal range ("5-5", "jan-1") means that one value, as in ISC cron."""
    assert fire_ats(cron(expression), utc(2026, 3, 2), 2) == expected


def test_cron_rare_day_is_found_decades_ahead() -> None:
    """Feb 29 on a Sunday recurs 40 years apart across 2100; it is still found."""
    assert fire_ats(cron("0 0 29 2 */7"), utc(2061, 1, 1), 3) == [
        utc(2088, 2, 29),
        utc(2128, 2, 29),
        utc(2156, 2, 29),
    ]


def test_cron_day_31_does_not_clamp() -> None:
    """Cron day 31 fires only in 31-day months (no clamping, unlike monthly)."""
    assert fire_ats(cron("0 0 31 * *"), utc(2026, 1, 1), 3) == [
        utc(2026, 1, 31),
        utc(2026, 3, 31),
        utc(2026, 5, 31),
    ]


def test_cron_feb_29_fires_only_in_leap_years() -> None:
    """Cron "0 0 29 2 *" is valid and fires on leap days only."""
    assert fire_ats(cron("0 0 29 2 *"), utc(2026, 1, 1), 2) == [
        utc(2028, 2, 29),
        utc(2032, 2, 29),
    ]


def test_cron_day_31_in_feb_with_weekday_is_valid() -> None:
    """'0 0 31 2 mon' never matches the 31st but fires on February Mondays."""
    assert fire_ats(cron("0 0 31 2 mon"), utc(2026, 1, 1), 2) == [
        utc(2026, 2, 2),
        utc(2026, 2, 9),
    ]


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


# --- bad input -------------------------------------------------------------------


def cron_field_error(field: str, value: str, reason: str) -> str:
    """Return the expected message for one bad cron field."""
    return MSG_CRON_FIELD.format(field=field, value=value, reason=reason)


CRON_CHARS = "use numbers, names, '*', ',', '-', '/'"
ALIASES = ", ".join(CRON_ALIASES)
BAD_DOCUMENTS: list[tuple[Any, str, str]] = [
    ([], "schedule", MSG_NOT_OBJECT),
    ("daily", "schedule", MSG_NOT_OBJECT),
    (None, "schedule", MSG_NOT_OBJECT),
    ({}, "type", MSG_REQUIRED.format(kind="all")),
    ({"type": None}, "type", MSG_REQUIRED.format(kind="all")),
    (
        {"type": "fortnightly"},
        "type",
        MSG_UNKNOWN_TYPE.format(value="fortnightly", choices=", ".join(KINDS)),
    ),
    (
        {"type": "Daily", "time": "09:00"},
        "type",
        MSG_UNKNOWN_TYPE.format(value="Daily", choices=", ".join(KINDS)),
    ),
    (
        {"type": "daily", "time": "09:00", "minute": 5},
        "minute",
        MSG_UNKNOWN_FIELD.format(kind="daily", fields="minute"),
    ),
    (
        {"type": "interval", "seconds": 5, "foo": 1, "bar": 2},
        "bar",
        MSG_UNKNOWN_FIELD.format(kind="interval", fields="bar, foo"),
    ),
    (
        {"type": "manual", "time": "09:00"},
        "time",
        MSG_UNKNOWN_FIELD.format(kind="manual", fields="time"),
    ),
    ({"type": "daily"}, "time", MSG_REQUIRED.format(kind="daily")),
    ({"type": "daily", "time": None}, "time", MSG_REQUIRED.format(kind="daily")),
    ({"type": "interval"}, "seconds", MSG_REQUIRED.format(kind="interval")),
    ({"type": "hourly"}, "minute", MSG_REQUIRED.format(kind="hourly")),
    (
        {"type": "weekly", "time": "09:00"},
        "weekdays",
        MSG_REQUIRED.format(kind="weekly"),
    ),
    (
        {"type": "weekly", "weekdays": ["mon"]},
        "time",
        MSG_REQUIRED.format(kind="weekly"),
    ),
    (
        {"type": "monthly", "time": "09:00"},
        "day",
        MSG_REQUIRED.format(kind="monthly"),
    ),
    (
        {"type": "yearly", "day": 1, "time": "09:00"},
        "month",
        MSG_REQUIRED.format(kind="yearly"),
    ),
    ({"type": "cron"}, "expression", MSG_REQUIRED.format(kind="cron")),
    (
        {"type": "weekly", "weekdays": ["mon", "funday"], "time": "09:00"},
        "weekdays",
        MSG_WEEKDAY.format(value="funday"),
    ),
    (
        {"type": "weekly", "weekdays": [1], "time": "09:00"},
        "weekdays",
        MSG_WEEKDAY.format(value=1),
    ),
    ({"type": "weekly", "weekdays": [], "time": "09:00"}, "weekdays", MSG_WEEKDAYS),
    ({"type": "weekly", "weekdays": "mon", "time": "09:00"}, "weekdays", MSG_WEEKDAYS),
    (daily("25:00"), "time", MSG_TIME.format(value="25:00")),
    (daily("24:00"), "time", MSG_TIME.format(value="24:00")),
    (daily("9:60"), "time", MSG_TIME.format(value="9:60")),
    (daily("ab"), "time", MSG_TIME.format(value="ab")),
    (daily(""), "time", MSG_TIME.format(value="")),
    (daily("09:00:00"), "time", MSG_TIME.format(value="09:00:00")),
    (daily("-1:00"), "time", MSG_TIME.format(value="-1:00")),
    ({"type": "daily", "time": 900}, "time", MSG_TIME.format(value=900)),
    ({"type": "hourly", "minute": 60}, "minute", MSG_MINUTE.format(value=60)),
    ({"type": "hourly", "minute": -1}, "minute", MSG_MINUTE.format(value=-1)),
    ({"type": "hourly", "minute": "x"}, "minute", MSG_INTEGER.format(value="x")),
    ({"type": "hourly", "minute": True}, "minute", MSG_INTEGER.format(value=True)),
    ({"type": "hourly", "minute": 1.5}, "minute", MSG_INTEGER.format(value=1.5)),
    (
        {"type": "monthly", "day": 0, "time": "09:00"},
        "day",
        MSG_DAY.format(value=0),
    ),
    (
        {"type": "monthly", "day": 32, "time": "09:00"},
        "day",
        MSG_DAY.format(value=32),
    ),
    (
        {"type": "monthly", "day": "first", "time": "09:00"},
        "day",
        MSG_DAY.format(value="first"),
    ),
    (
        {"type": "monthly", "day": True, "time": "09:00"},
        "day",
        MSG_DAY.format(value=True),
    ),
    (
        {"type": "monthly", "day": 1.5, "time": "09:00"},
        "day",
        MSG_DAY.format(value=1.5),
    ),
    (
        {"type": "yearly", "month": 2, "day": 30, "time": "09:00"},
        "day",
        MSG_YEARLY_DAY.format(month="February", days=29, value=30),
    ),
    (
        {"type": "yearly", "month": 4, "day": 31, "time": "09:00"},
        "day",
        MSG_YEARLY_DAY.format(month="April", days=30, value=31),
    ),
    (
        {"type": "yearly", "month": 13, "day": 1, "time": "09:00"},
        "month",
        MSG_MONTH.format(value=13),
    ),
    (
        {"type": "yearly", "month": 0, "day": 1, "time": "09:00"},
        "month",
        MSG_MONTH.format(value=0),
    ),
    (
        {"type": "yearly", "month": "feb", "day": 1, "time": "09:00"},
        "month",
        MSG_INTEGER.format(value="feb"),
    ),
    (
        cron("60 * * * *"),
        "expression",
        cron_field_error("minute", "60", "out of range"),
    ),
    (cron("0 24 * * *"), "expression", cron_field_error("hour", "24", "out of range")),
    (
        cron("0 0 0 * *"),
        "expression",
        cron_field_error("day-of-month", "0", "out of range"),
    ),
    (
        cron("0 0 32 * *"),
        "expression",
        cron_field_error("day-of-month", "32", "out of range"),
    ),
    (cron("0 0 * 13 *"), "expression", cron_field_error("month", "13", "out of range")),
    (cron("0 0 * 0 *"), "expression", cron_field_error("month", "0", "out of range")),
    (
        cron("0 0 * * 8"),
        "expression",
        cron_field_error("day-of-week", "8", "out of range"),
    ),
    (
        cron("0-60 * * * *"),
        "expression",
        cron_field_error("minute", "0-60", "out of range"),
    ),
    (
        cron("0 0 L * *"),
        "expression",
        cron_field_error("day-of-month", "L", "not understood"),
    ),
    (
        cron("0 0 * * 5L"),
        "expression",
        cron_field_error("day-of-week", "5L", "not understood"),
    ),
    (
        cron("H 0 * * *"),
        "expression",
        cron_field_error("minute", "H", "not understood"),
    ),
    (
        cron("*/0 * * * *"),
        "expression",
        cron_field_error("minute", "*/0", "not understood"),
    ),
    (
        cron("0 0 ? * *"),
        "expression",
        cron_field_error("day-of-month", "?", CRON_CHARS),
    ),
    (
        cron("0 0 * * 5#2"),
        "expression",
        cron_field_error("day-of-week", "5#2", CRON_CHARS),
    ),
    (
        cron("0 0 * * *"[:-2]),
        "expression",
        MSG_CRON_FIELDS.format(aliases=ALIASES, count=4),
    ),
    (
        cron("0 0 * * * 2026"),
        "expression",
        MSG_CRON_FIELDS.format(aliases=ALIASES, count=6),
    ),
    (cron(""), "expression", MSG_CRON_FIELDS.format(aliases=ALIASES, count=0)),
    (cron("@reboot"), "expression", MSG_CRON_FIELDS.format(aliases=ALIASES, count=1)),
    (cron(5), "expression", MSG_CRON_TEXT.format(value=5)),  # type: ignore[arg-type]
    (cron("0 0 31 2 *"), "expression", MSG_CRON_NEVER.format(value="0 0 31 2 *")),
    (cron("0 0 30 2 *"), "expression", MSG_CRON_NEVER.format(value="0 0 30 2 *")),
    (
        cron("0 0 31 4,6,9,11 *"),
        "expression",
        MSG_CRON_NEVER.format(value="0 0 31 4,6,9,11 *"),
    ),
    (
        cron("0 0 31 2 */2"),
        "expression",
        MSG_CRON_NEVER.format(value="0 0 31 2 */2"),
    ),
    (
        {"type": "daily", "time": "09:00", "timezone": "Mars/Base"},
        "timezone",
        MSG_TIMEZONE.format(value="Mars/Base"),
    ),
    (
        {"type": "daily", "time": "09:00", "timezone": "../etc/passwd"},
        "timezone",
        MSG_TIMEZONE.format(value="../etc/passwd"),
    ),
    (
        {"type": "daily", "time": "09:00", "timezone": 5},
        "timezone",
        MSG_TIMEZONE.format(value=5),
    ),
    (
        {"type": "daily", "time": "09:00", "timezone": 0},
        "timezone",
        MSG_TIMEZONE.format(value=0),
    ),
    (
        {"type": "manual", "timezone": "Asia"},
        "timezone",
        MSG_TIMEZONE.format(value="Asia"),
    ),
    ({"type": "interval", "seconds": 0}, "seconds", MSG_SECONDS.format(value=0)),
    ({"type": "interval", "seconds": -5}, "seconds", MSG_SECONDS.format(value=-5)),
    (
        {"type": "interval", "seconds": "abc"},
        "seconds",
        MSG_SECONDS.format(value="abc"),
    ),
    ({"type": "interval", "seconds": 1.5}, "seconds", MSG_SECONDS.format(value=1.5)),
    ({"type": "interval", "seconds": True}, "seconds", MSG_SECONDS.format(value=True)),
    (
        {"type": "interval", "seconds": 10**26},
        "seconds",
        MSG_SECONDS_MAX.format(limit=MAX_INTERVAL_SECONDS, value=10**26),
    ),
]


@pytest.mark.parametrize(("document", "field", "message"), BAD_DOCUMENTS)
def test_bad_document_is_refused_naming_the_field(
    document: Any, field: str, message: str
) -> None:
    """Each bad document raises ScheduleError with its field and exact message."""
    with pytest.raises(ScheduleError) as caught:
        parse(document)
    assert (caught.value.field, caught.value.message) == (field, message)
    assert str(caught.value) == f"{field}: {message}"


@pytest.mark.parametrize(
    "name", ["Mars/Base", "../etc/passwd", "", 5, None, "/etc/localtime", "Asia/"]
)
def test_parse_timezone_refuses_unknown_names(name: Any) -> None:
    """parse_timezone refuses names that are not IANA zones."""
    with pytest.raises(ScheduleError) as caught:
        parse_timezone(name)
    assert caught.value.field == "timezone"
    assert caught.value.message == MSG_TIMEZONE.format(value=name)


def test_unknown_default_timezone_is_refused() -> None:
    """A bad default zone is refused when the document names none."""
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(daily("09:00"), default_timezone="")
    assert (caught.value.field, caught.value.message) == (
        "timezone",
        MSG_TIMEZONE.format(value=""),
    )


def test_parse_timezone_field_name_is_configurable() -> None:
    """parse_timezone names the field it was given."""
    with pytest.raises(ScheduleError) as caught:
        parse_timezone("Mars/Base", field="job_timezone")
    assert caught.value.field == "job_timezone"


def test_schedule_error_is_a_value_error() -> None:
    """Callers may catch ScheduleError as ValueError."""
    assert issubclass(ScheduleError, ValueError)


# --- reference model for property-based tests --------------------------------
# An independent reading of DESIGN.md's schedule table, used to check the
# engine: a document's terms are matched against a naive wall time, and the
# brute-force walk below applies the DST rules minute by minute.

_MONTH_NAMES = [m.lower() for m in calendar.month_abbr[1:]]
_DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_REFERENCE_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# (low, high, names) per cron field; day-of-week allows 7 for Sunday.
_CRON_BOUNDS = (
    (0, 59, []),
    (0, 23, []),
    (1, 31, []),
    (1, 12, _MONTH_NAMES),
    (0, 7, _DAY_NAMES),
)


def _cron_number(text: str, names: list[str], low: int) -> int:
    return names.index(text) + low if text in names else int(text)


@functools.cache
def _cron_values(text: str, index: int) -> frozenset[int]:
    """Expand one cron field of the generated subset into its values."""
    low, high, names = _CRON_BOUNDS[index]
    values: set[int] = set()
    for part in text.lower().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, stop = low, high
        elif "-" in base:
            first, last = base.split("-")
            start, stop = (
                _cron_number(first, names, low),
                _cron_number(last, names, low),
            )
        else:
            start = stop = _cron_number(base, names, low)
        if start <= stop:
            values.update(range(start, stop + 1, step))
        else:  # a range that wraps past the field's end
            values.update([*range(start, high + 1), *range(low, stop + 1)][::step])
    if index == 4 and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


@functools.cache
def _cron_fields(expression: str) -> tuple[str, ...]:
    text = " ".join(expression.split())
    return tuple(_REFERENCE_ALIASES.get(text.lower(), text).split(" "))


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def reference_matches(document: dict[str, Any], at: datetime) -> bool:
    """Return True if naive wall time `at` is one of the document's times."""
    kind = document["type"]
    if kind == "hourly":
        return at.minute == int(document["minute"])
    if kind == "cron":
        fields = _cron_fields(document["expression"])
        minutes, hours, month_days, months, weekdays = (
            _cron_values(field, index) for index, field in enumerate(fields)
        )
        dom = at.day in month_days
        dow = at.isoweekday() % 7 in weekdays
        either = not fields[2].startswith("*") and not fields[4].startswith("*")
        return (
            at.minute in minutes
            and at.hour in hours
            and at.month in months
            and ((dom or dow) if either else (dom and dow))
        )
    hour, minute = (int(part) for part in document["time"].split(":"))
    if (at.hour, at.minute) != (hour, minute):
        return False
    if kind == "daily":
        return True
    if kind == "weekly":
        return _WEEKDAYS[at.weekday()] in document["weekdays"]
    if kind == "yearly" and at.month != int(document["month"]):
        return False
    last = _last_day(at.year, at.month)
    day = document["day"]
    return at.day == (last if day == "last" else min(int(day), last))


def reference_is_wildcard(document: dict[str, Any]) -> bool:
    """Return True for schedules following the wildcard DST rule."""
    if document["type"] == "hourly":
        return True
    if document["type"] == "cron":
        minute, hour = _cron_fields(document["expression"])[:2]
        return minute.startswith("*") or hour.startswith("*")
    return False


def reference_never_fires(expression: str) -> bool:
    """Return True if a cron expression's day fields can never both match."""
    fields = _cron_fields(expression)
    if not fields[2].startswith("*") and not fields[4].startswith("*"):
        return False  # either field may match, and every weekday occurs
    month_days, months = _cron_values(fields[2], 2), _cron_values(fields[3], 3)
    longest = {m: 29 if m == 2 else _last_day(2001, m) for m in months}
    return not any(d <= longest[m] for m in months for d in month_days)


def reference_fires(
    document: dict[str, Any], zone: ZoneInfo, after: datetime, end: datetime
) -> list[tuple[datetime, datetime | None]]:
    """Walk UTC minute by minute in (after, end) applying DESIGN.md's rules.

    Return (instant, moved_from) pairs. Zones here change offset only on whole
    minutes, so every wall time a gap skips lies between two consecutive
    minutes' wall times.
    """
    wildcard = reference_is_wildcard(document)
    at = after.replace(second=0, microsecond=0) + ONE_MINUTE
    previous = (at - ONE_MINUTE).astimezone(zone).replace(tzinfo=None)
    result: list[tuple[datetime, datetime | None]] = []
    while at < end:
        local = at.astimezone(zone)
        current = local.replace(tzinfo=None)
        if wildcard:
            if reference_matches(document, current):
                result.append((at, None))
        else:
            skipped = _walls_between(previous, current)
            moved = next((w for w in skipped if reference_matches(document, w)), None)
            if moved is not None:
                result.append((at, moved))
            elif local.fold == 0 and reference_matches(document, current):
                result.append((at, None))
        previous = current
        at += ONE_MINUTE
    return result


def _walls_between(previous: datetime, current: datetime) -> Iterator[datetime]:
    """Yield the whole-minute wall times strictly between the two."""
    candidate = previous + ONE_MINUTE
    while candidate < current:
        yield candidate
        candidate += ONE_MINUTE


def engine_fires(
    schedule: Schedule, after: datetime, end: datetime, limit: int = 10_000
) -> list[tuple[datetime, datetime | None]]:
    """Return the engine's first `limit` (instant, moved_from) pairs in (after, end)."""
    result: list[tuple[datetime, datetime | None]] = []
    cursor = after
    while (
        len(result) < limit
        and (fire := schedule.next_after(cursor)) is not None
        and fire.at < end
    ):
        result.append((fire.at, fire.moved_from))
        cursor = fire.at
    return result


@functools.cache
def offset_changes(zone_name: str, year: int) -> tuple[datetime, ...]:
    """Return the UTC instants in `year` at which the zone's offset changes."""
    zone = ZoneInfo(zone_name)
    step = timedelta(hours=6)
    changes = []
    at = utc(year, 1, 1)
    while at.year == year:
        if at.astimezone(zone).utcoffset() != (at + step).astimezone(zone).utcoffset():
            low, high = at, at + step
            while high - low > ONE_MINUTE:
                middle = low + ONE_MINUTE * ((high - low) // ONE_MINUTE // 2)
                before = (
                    middle.astimezone(zone).utcoffset()
                    == low.astimezone(zone).utcoffset()
                )
                low, high = (middle, high) if before else (low, middle)
            changes.append(high)
        at += step
    return tuple(changes)


# --- strategies ----------------------------------------------------------------

WALL_KINDS = ("hourly", "daily", "weekly", "monthly", "yearly", "cron")
AFTERS = st.datetimes(
    min_value=datetime(1990, 1, 1),  # noqa: DTZ001 - bounds for aware values
    max_value=datetime(2060, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@st.composite
def near_values(
    draw: st.DrawFn, anything: st.SearchStrategy[int], near: list[int]
) -> int:
    """Draw a value, often one of `near` (close to a DST change)."""
    if near and draw(st.booleans()):
        return draw(st.sampled_from(near))
    return draw(anything)


@st.composite
def cron_field(
    draw: st.DrawFn,
    index: int,
    near: list[int],
    steps: list[int],
    *,
    allow_star: bool = True,
    max_width: int = 5,
) -> str:
    """Draw one cron field: '*', '*/k', a list, a range, or a stepped range."""
    low, high, names = _CRON_BOUNDS[index]
    value = near_values(st.integers(low, high), near)

    def spell(number: int) -> str:
        if names and number - low < len(names) and draw(st.booleans()):
            name = names[number - low]
            return draw(st.sampled_from([name, name.upper(), name.title()]))
        return str(number)

    # No backwards ranges ("22-1"): the engine refuses them, as ISC cron does.
    form = draw(st.sampled_from(["star", "step", "list", "range", "ranged"]))
    if form == "star" and allow_star:
        return "*"
    if form == "step":
        return f"*/{draw(st.sampled_from(steps))}"
    if form in ("range", "ranged"):
        start = draw(value)
        width = draw(st.integers(1, max_width))
        stop = min(start + width, high)
        if form == "ranged":
            return f"{start}-{stop}/{draw(st.integers(1, 3))}"
        return f"{spell(start)}-{spell(stop)}"
    items = draw(st.lists(value, min_size=1, max_size=3))
    return ",".join(spell(item) for item in items)


@st.composite
def wall_documents(
    draw: st.DrawFn,
    near: datetime | None = None,
    *,
    sparse: bool = False,
    kinds: tuple[str, ...] = WALL_KINDS,
) -> dict[str, Any]:
    """Draw a valid wall-clock document, biased to wall times near `near`.

    With `sparse`, cron minute fields fire at most a few times an hour so that
    a brute-force walk over a day stays fast.
    """
    walls = [near - ONE_MINUTE, near] if near is not None else []
    hours = sorted({h for w in walls for h in (w.hour, (w.hour + 1) % 24)})
    minutes = sorted({0, 15, 30, 45, *(w.minute for w in walls)})
    minutes += [(walls[0].minute + 1) % 60] if walls else []
    days = sorted({w.day for w in walls})
    months = sorted({w.month for w in walls})
    weekdays = sorted({_WEEKDAYS[w.weekday()] for w in walls})
    hour = draw(near_values(st.integers(0, 23), hours))
    minute = draw(near_values(st.integers(0, 59), minutes))
    at = f"{hour:02d}:{minute:02d}"
    # Half of the documents are cron, the richest kind.
    kind = draw(
        st.sampled_from(kinds) | st.just("cron")
        if "cron" in kinds
        else st.sampled_from(kinds)
    )
    if kind == "hourly":
        return {"type": "hourly", "minute": minute}
    if kind == "daily":
        return {"type": "daily", "time": at}
    if kind == "weekly":
        chosen = draw(st.lists(st.sampled_from(_WEEKDAYS), min_size=1, max_size=3))
        return {"type": "weekly", "weekdays": sorted({*chosen, *weekdays}), "time": at}
    if kind == "monthly":
        day = draw(near_values(st.integers(1, 31), days) | st.just("last"))
        return {"type": "monthly", "day": day, "time": at}
    if kind == "yearly":
        month = draw(near_values(st.integers(1, 12), months))
        longest = 29 if month == 2 else _last_day(2001, month)
        day = draw(near_values(st.integers(1, longest), days) | st.just("last"))
        if day != "last" and day > longest:
            day = longest
        return {"type": "yearly", "month": month, "day": day, "time": at}
    dow_near = [(w.isoweekday() % 7) for w in walls]
    fields = [
        draw(
            cron_field(
                0,
                minutes,
                [10, 15, 20, 30] if sparse else [1, 5, 7, 20, 30],
                allow_star=not sparse,
                max_width=3,
            )
        ),
        draw(cron_field(1, hours, [1, 2, 3, 5, 12])),
        draw(cron_field(2, days, [1, 2, 3, 10])),
        draw(cron_field(3, months, [1, 2, 3, 6])),
        draw(cron_field(4, dow_near, [1, 2, 3, 5, 7])),
    ]
    return cron(" ".join(fields))


def parse_or_skip(document: dict[str, Any], zone_name: str) -> Schedule:
    """Parse a generated document; skip cron that the reference says never fires."""
    if document["type"] == "cron" and reference_never_fires(document["expression"]):
        with pytest.raises(ScheduleError) as caught:
            parse(document, zone_name)
        assert caught.value.message == MSG_CRON_NEVER.format(
            value=document["expression"]
        )
        assume(False)
    return parse(document, zone_name)


def local_view(moment: datetime) -> tuple[datetime, int, timedelta | None, str]:
    """Return what identifies a local time: wall time, fold, offset and zone."""
    return (
        moment.replace(tzinfo=None),
        moment.fold,
        moment.utcoffset(),
        str(moment.tzinfo),
    )


# --- property-based tests ------------------------------------------------------


@settings(SETTINGS, max_examples=250)
@given(
    document=wall_documents(),
    zone_name=st.sampled_from(ZONES),
    after=AFTERS,
)
def test_wall_clock_fire_times_obey_the_rules(
    document: dict[str, Any], zone_name: str, after: datetime
) -> None:
    """Fire times increase, are UTC, match the terms and respect the DST rules."""
    schedule = parse_or_skip(document, zone_name)
    zone = ZoneInfo(zone_name)
    fires = schedule.fire_times(after, 6)
    assert len(fires) == 6
    instants = [fire.at for fire in fires]
    assert instants[0] > after
    assert all(a < b for a, b in itertools.pairwise(instants))
    for fire in fires:
        assert fire.at.tzinfo is UTC
        assert local_view(fire.local) == local_view(fire.at.astimezone(zone))
        round_trip = fire.local.replace(tzinfo=None).replace(
            tzinfo=zone, fold=fire.local.fold
        )
        assert round_trip.astimezone(UTC) == fire.at
        wall_time = fire.local.replace(tzinfo=None)
        if schedule.is_wildcard or fire.moved_from is None:
            assert fire.moved_from is None
            assert reference_matches(document, wall_time)
        else:
            assert reference_matches(document, fire.moved_from)
            before = (fire.at - ONE_SECOND).astimezone(zone)
            assert before.utcoffset() != fire.local.utcoffset()
            assert before.replace(tzinfo=None) < fire.moved_from < wall_time
        if not schedule.is_wildcard and fire.moved_from is None:
            assert fire.local.fold == 0
    assert schedule.is_wildcard is reference_is_wildcard(document)
    if not schedule.is_wildcard:
        walls = [fire.local.replace(tzinfo=None) for fire in fires]
        assert len(set(walls)) == len(walls)


@settings(SETTINGS, max_examples=100)
@given(
    seconds=st.integers(1, 3 * 86_400) | st.sampled_from([3600, 5400, 86_400]),
    zone_name=st.sampled_from(ZONES),
    after=AFTERS,
)
def test_interval_fires_every_n_elapsed_seconds(
    seconds: int, zone_name: str, after: datetime
) -> None:
    """Interval fires are epoch-aligned and exactly `seconds` apart in any zone."""
    fires = parse({"type": "interval", "seconds": seconds}, zone_name).fire_times(
        after, 4
    )
    instants = [fire.at for fire in fires]
    assert after < instants[0] <= after + timedelta(seconds=seconds)
    assert (instants[0] - EPOCH) % timedelta(seconds=seconds) == timedelta(0)
    assert [b - a for a, b in itertools.pairwise(instants)] == [
        timedelta(seconds=seconds)
    ] * 3
    for fire in fires:
        assert fire.at.tzinfo is UTC
        assert fire.moved_from is None
        assert local_view(fire.local) == local_view(
            fire.at.astimezone(ZoneInfo(zone_name))
        )


@st.composite
def dst_windows(draw: st.DrawFn) -> tuple[str, datetime, datetime, datetime]:
    """Draw (zone, anchor, after, end): mostly a window around an offset change."""
    zone_name = draw(st.sampled_from(ZONES))
    year = draw(st.integers(1990, 2060))
    changes = offset_changes(zone_name, year)
    if changes and draw(st.integers(0, 9)) > 0:
        anchor = draw(st.sampled_from(changes))
    else:
        anchor = utc(year, 1, 1) + ONE_MINUTE * draw(st.integers(0, 364 * 24 * 60))
    after = anchor - timedelta(
        seconds=draw(st.integers(0, 8 * 3600)),
        microseconds=draw(st.integers(0, 999_999)),
    )
    end = anchor + timedelta(hours=draw(st.integers(1, 8)))
    return zone_name, anchor, after, end


@settings(SETTINGS, max_examples=200)
@given(data=st.data())
def test_engine_matches_brute_force_reference_around_dst(data: st.DataObject) -> None:
    """Over windows around DST changes the engine equals a minute-by-minute walk."""
    zone_name, anchor, after, end = data.draw(dst_windows())
    zone = ZoneInfo(zone_name)
    near = anchor.astimezone(zone).replace(tzinfo=None)
    document = data.draw(wall_documents(near, sparse=True))
    schedule = parse_or_skip(document, zone_name)
    fires = engine_fires(schedule, after, end, limit=60)
    if len(fires) == 60:  # keep dense schedules cheap: compare up to the 60th
        end = fires[-1][0] + ONE_SECOND
    assert fires == reference_fires(document, zone, after, end)


@pytest.mark.parametrize(
    ("zone_name", "year"),
    [
        (NEW_YORK, 2026),
        (LONDON, 2026),
        (SYDNEY, 2026),
        (LORD_HOWE, 2026),
        ("America/St_Johns", 2000),
        ("America/Sao_Paulo", 2018),
        ("Pacific/Chatham", 2026),
    ],
)
@pytest.mark.parametrize(
    "document",
    [
        daily("02:30"),
        daily("01:30"),
        {"type": "hourly", "minute": 15},
        {"type": "hourly", "minute": 45},
        cron("*/20 * * * *"),
        cron("0,30 0-3 * * *"),
        cron("15 */2 * * *"),
    ],
    ids=["daily-0230", "daily-0130", "hourly-15", "hourly-45", "c1", "c2", "c3"],
)
def test_engine_matches_brute_force_on_every_change_of_year(
    zone_name: str, year: int, document: dict[str, Any]
) -> None:
    """Across each of a year's offset changes, engine and reference agree."""
    zone = ZoneInfo(zone_name)
    schedule = parse(document, zone_name)
    changes = offset_changes(zone_name, year)
    assert len(changes) == 2
    for change in changes:
        after, end = change - timedelta(hours=10), change + timedelta(hours=10)
        assert engine_fires(schedule, after, end) == reference_fires(
            document, zone, after, end
        )


def test_offset_changes_helper_finds_new_york_2026() -> None:
    """The test helper finds New York's 2026 changes at the exact UTC minutes."""
    assert offset_changes(NEW_YORK, 2026) == (utc(2026, 3, 8, 7), utc(2026, 11, 1, 6))


def test_reference_agrees_with_hand_computed_gap() -> None:
    """The reference walk moves a gap time like the hand-written examples."""
    fires = reference_fires(
        daily("02:30"), ZoneInfo(NEW_YORK), utc(2026, 3, 7, 12), utc(2026, 3, 9, 12)
    )
    assert fires == [
        (utc(2026, 3, 8, 7), wall(2026, 3, 8, 2, 30)),
        (utc(2026, 3, 9, 6, 30), None),
    ]


@settings(SETTINGS, max_examples=100)
@given(data=st.data())
def test_cron_day_rules_match_reference_over_two_years(data: st.DataObject) -> None:
    """Cron at 00:00 UTC fires on exactly the days the reference selects."""
    document = data.draw(wall_documents(kinds=("cron",)))
    fields = _cron_fields(document["expression"])
    document = cron(" ".join(["0", "0", *fields[2:]]))
    schedule = parse_or_skip(document, "UTC")
    start, end = utc(2026, 1, 1), utc(2028, 1, 1)
    expected: list[tuple[datetime, datetime | None]] = []
    day = start
    while day < end:
        if reference_matches(document, day.replace(tzinfo=None)):
            expected.append((day, None))
        day += timedelta(days=1)
    assert engine_fires(schedule, start - ONE_SECOND, end) == expected
