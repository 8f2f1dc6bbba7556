"""Tests for schedules across DST changes in `jobs.schedule`.

Fixed-time schedules fire once per gap and fold; wildcard schedules fire
at every real matching instant. Real zones on real transition days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from jobs.tests.schedule_helpers import (
    LONDON,
    LORD_HOWE,
    NEW_YORK,
    SYDNEY,
    cron,
    daily,
    fire_ats,
    parse,
    utc,
    wall,
)

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
