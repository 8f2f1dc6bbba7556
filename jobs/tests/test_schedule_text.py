"""Tests for `jobs.schedule_text`: schedules described in words (no Django)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.schedule import MSG_NOT_OBJECT, MSG_TIME, MSG_TIMEZONE, ScheduleError
from jobs.schedule_text import (
    MANUAL_TEXT,
    MSG_INVALID,
    describe_schedule,
    describe_schedules,
)

HONG_KONG = "Asia/Hong_Kong"


def describe(document: Any, timezone: str = HONG_KONG) -> str:
    """Describe `document` with `timezone` as the job's default zone."""
    return describe_schedule(document, timezone=timezone)


def invalid(field: str, message: str) -> str:
    """Return the text for an invalid document."""
    return MSG_INVALID.format(error=ScheduleError(field, message))


@pytest.mark.parametrize(
    ("document", "text"),
    [
        ({"type": "daily", "time": "09:00"}, "Daily at 09:00 (Asia/Hong_Kong)"),
        ({"type": "daily", "time": "9:05"}, "Daily at 09:05 (Asia/Hong_Kong)"),
        ({"type": "hourly", "minute": 15}, "Every hour at :15 (Asia/Hong_Kong)"),
        ({"type": "hourly", "minute": 5}, "Every hour at :05 (Asia/Hong_Kong)"),
        (
            {"type": "weekly", "weekdays": ["wed", "mon"], "time": "05:00"},
            "Weekly on Mon, Wed at 05:00 (Asia/Hong_Kong)",
        ),
        (
            {"type": "weekly", "weekdays": ["SUN"], "time": "23:30"},
            "Weekly on Sun at 23:30 (Asia/Hong_Kong)",
        ),
        (
            {"type": "monthly", "day": 31, "time": "07:00"},
            "Monthly on day 31 at 07:00 (Asia/Hong_Kong)",
        ),
        (
            {"type": "monthly", "day": "last", "time": "07:00"},
            "Monthly on the last day at 07:00 (Asia/Hong_Kong)",
        ),
        (
            {"type": "yearly", "month": 2, "day": 29, "time": "07:00"},
            "Yearly on 29 February at 07:00 (Asia/Hong_Kong)",
        ),
        (
            {"type": "yearly", "month": 12, "day": "last", "time": "18:00"},
            "Yearly on the last day of December at 18:00 (Asia/Hong_Kong)",
        ),
        ({"type": "manual"}, "Manual only"),
    ],
)
def test_describes_each_wall_clock_type(document: dict[str, Any], text: str) -> None:
    """Each schedule type reads as words with its zone in brackets."""
    assert describe(document) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "Every second"),
        (45, "Every 45 seconds"),
        (60, "Every minute"),
        (90, "Every 90 seconds"),
        (5400, "Every 90 minutes"),
        (3600, "Every hour"),
        (7200, "Every 2 hours"),
        (86_400, "Every 24 hours"),
        (3601, "Every 3601 seconds"),
    ],
)
def test_interval_in_largest_whole_unit_without_zone(seconds: int, text: str) -> None:
    """Intervals are elapsed time: the largest whole unit, and no zone."""
    assert describe({"type": "interval", "seconds": seconds}) == text


def test_manual_text_constant() -> None:
    """Manual schedules use the module's constant text."""
    assert describe({"type": "manual", "timezone": "UTC"}) == MANUAL_TEXT


def test_document_timezone_wins_over_argument() -> None:
    """The document's own timezone is shown instead of the job's default."""
    document = {"type": "hourly", "minute": 15, "timezone": "Europe/London"}
    assert describe(document) == "Every hour at :15 (Europe/London)"


def test_blank_document_timezone_uses_argument() -> None:
    """A blank document timezone falls back to the job's default."""
    document = {"type": "daily", "time": "09:00", "timezone": ""}
    assert describe(document, "Asia/Kathmandu") == "Daily at 09:00 (Asia/Kathmandu)"


@pytest.mark.parametrize(
    ("expression", "text"),
    [
        (
            "0 9 * * 1-5",
            "Cron 0 9 * * 1-5: At 09:00, Monday through Friday (Asia/Hong_Kong)",
        ),
        (
            "0 9 * * mon-fri",
            "Cron 0 9 * * mon-fri: At 09:00, Monday through Friday (Asia/Hong_Kong)",
        ),
        ("*/20 * * * *", "Cron */20 * * * *: Every 20 minutes (Asia/Hong_Kong)"),
        (
            "30 * * * *",
            "Cron 30 * * * *: At 30 minutes past the hour (Asia/Hong_Kong)",
        ),
        (
            "15 14 1 * *",
            "Cron 15 14 1 * *: At 14:15, on day 1 of the month (Asia/Hong_Kong)",
        ),
        (
            "0 22 * * 7",
            "Cron 0 22 * * 7: At 22:00, only on Sunday (Asia/Hong_Kong)",
        ),
        ("@daily", "Cron @daily: At 00:00 (Asia/Hong_Kong)"),
        ("@hourly", "Cron @hourly: Every hour (Asia/Hong_Kong)"),
        (
            "@weekly",
            "Cron @weekly: At 00:00, only on Sunday (Asia/Hong_Kong)",
        ),
        (
            "@yearly",
            "Cron @yearly: At 00:00, on day 1 of the month, only in January "
            "(Asia/Hong_Kong)",
        ),
    ],
)
def test_describes_cron_with_expression_and_zone(expression: str, text: str) -> None:
    """Cron reads "Cron <expression>: <words> (<zone>)" in 24-hour time."""
    assert describe({"type": "cron", "expression": expression}) == text


def test_cron_expression_is_shown_normalised() -> None:
    """Extra spaces in the expression are collapsed before it is shown."""
    document = {"type": "cron", "expression": " 0  9 * * 1-5 "}
    assert describe(document, "UTC") == (
        "Cron 0 9 * * 1-5: At 09:00, Monday through Friday (UTC)"
    )


def test_cron_both_day_fields_restricted_reads_or() -> None:
    """With both day fields restricted, either one matches: the words say "or"."""
    document = {"type": "cron", "expression": "0 0 1,15 * fri"}
    assert describe(document, "UTC") == (
        "Cron 0 0 1,15 * fri: At 00:00, on day 1 and 15 of the month, "
        "or on Friday (UTC)"
    )


def test_cron_weekday_range_with_day_of_month_reads_or() -> None:
    """A weekday range with a restricted day-of-month also reads "or"."""
    document = {"type": "cron", "expression": "0 0 1,15 * mon-fri"}
    assert describe(document, "UTC") == (
        "Cron 0 0 1,15 * mon-fri: At 00:00, on day 1 and 15 of the month, "
        "or Monday through Friday (UTC)"
    )


def test_cron_star_led_day_field_reads_only_on() -> None:
    """With a '*'-led day field both must match, so the words say "only on"."""
    document = {"type": "cron", "expression": "0 0 */2 * mon"}
    assert describe(document, "UTC") == (
        "Cron 0 0 */2 * mon: At 00:00, every 2 days, only on Monday (UTC)"
    )


@pytest.mark.parametrize(
    ("document", "text"),
    [
        (
            {"type": "daily", "time": "25:00"},
            invalid("time", MSG_TIME.format(value="25:00")),
        ),
        ([], invalid("schedule", MSG_NOT_OBJECT)),
        (
            {"type": "daily", "time": "09:00", "timezone": "Mars/Base"},
            invalid("timezone", MSG_TIMEZONE.format(value="Mars/Base")),
        ),
        (
            {"type": "cron", "expression": "0 0 31 2 *"},
            "Invalid schedule: expression: Cron expression '0 0 31 2 *' never "
            "fires: no month has that day.",
        ),
    ],
)
def test_invalid_document_is_described_not_raised(document: Any, text: str) -> None:
    """An invalid document gives "Invalid schedule: <field>: <message>"."""
    assert describe(document) == text


def test_invalid_default_timezone_is_described() -> None:
    """A bad job zone is reported the same way when the document names none."""
    assert describe({"type": "daily", "time": "09:00"}, "Nowhere/Land") == invalid(
        "timezone", MSG_TIMEZONE.format(value="Nowhere/Land")
    )


def test_describe_schedules_joins_with_semicolons() -> None:
    """Several schedules are joined with "; " in their given order."""
    documents: list[dict[str, Any]] = [
        {"type": "daily", "time": "09:00"},
        {"type": "interval", "seconds": 5400},
        {"type": "manual"},
    ]
    assert describe_schedules(documents, timezone=HONG_KONG) == (
        "Daily at 09:00 (Asia/Hong_Kong); Every 90 minutes; Manual only"
    )


def test_describe_schedules_of_nothing_is_empty() -> None:
    """No schedules give an empty string."""
    assert describe_schedules([], timezone=HONG_KONG) == ""


def test_describe_schedules_keeps_going_past_an_invalid_one() -> None:
    """One invalid document does not hide the others."""
    documents: list[dict[str, Any]] = [
        {"type": "bogus"},
        {"type": "hourly", "minute": 0},
    ]
    assert describe_schedules(documents, timezone="UTC").endswith(
        "; Every hour at :00 (UTC)"
    )


CRON_FIELDS = (
    ["0", "*", "*/5", "0,30", "10-40/15", "59-59", "50-10"],
    ["9", "*", "*/2", "9-17", "22-2", "0,12"],
    ["*", "1", "1,15", "*/2", "31", "20-5", "L"],
    ["*", "1", "jan", "jan-mar", "nov-feb", "*/3", "2"],
    ["*", "0", "7", "1-5", "mon-fri", "sat-mon", "*/2", "0-7", "3-3", "5#2"],
)


@settings(max_examples=200, deadline=None, database=None)
@given(
    fields=st.tuples(*(st.sampled_from(choices) for choices in CRON_FIELDS)),
    timezone=st.sampled_from(["UTC", HONG_KONG, "Australia/Lord_Howe"]),
)
def test_describe_never_raises_for_cron(fields: tuple[str, ...], timezone: str) -> None:
    """Any cron expression, valid or not, is described without raising."""
    expression = " ".join(fields)
    text = describe({"type": "cron", "expression": expression}, timezone)
    assert text.startswith((f"Cron {expression}", "Invalid schedule: expression: "))
    if text.startswith("Cron"):
        assert text.endswith(f" ({timezone})")
