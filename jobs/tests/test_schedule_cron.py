"""Tests for cron schedules in `jobs.schedule`: names, ranges, aliases, days."""

from __future__ import annotations

from datetime import datetime

import pytest

from jobs.schedule import (
    MSG_CRON_BACKWARDS,
    MSG_CRON_FIELD,
    ScheduleError,
)
from jobs.tests.schedule_helpers import (
    HONG_KONG,
    cron,
    fire_ats,
    parse,
    utc,
)

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
