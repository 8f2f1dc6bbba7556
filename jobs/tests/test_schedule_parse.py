"""Tests for refused schedule documents in `jobs.schedule`: field and message."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.schedule import (
    CRON_ALIASES,
    KINDS,
    MAX_INTERVAL_SECONDS,
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
    ScheduleError,
    parse_schedule,
    parse_timezone,
)
from jobs.tests.schedule_helpers import (
    cron,
    daily,
    parse,
)

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
