"""Tests for plain wall-clock schedules in `jobs.schedule`.

Daily, weekly, monthly, yearly and hourly documents away from DST
changes, zones with odd offsets, and how a document is normalised.
Plain pytest (no Django); every expected instant is an exact UTC datetime.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jobs.schedule import (
    FireTime,
)
from jobs.tests.schedule_helpers import (
    HONG_KONG,
    KATHMANDU,
    cron,
    daily,
    fire_ats,
    parse,
    utc,
)

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
