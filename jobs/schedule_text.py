"""Describe schedule documents in words, for the admin and previews.

Pure Python: no Django imports. Each document is read through
`jobs.schedule.parse_schedule`, so the words describe what the engine runs,
and an invalid document is described rather than raised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cron_descriptor import (
    DescriptionTypeEnum,
    ExpressionDescriptor,
    FormatError,
    MissingFieldError,
    Options,
    WrongArgumentError,
)

from jobs.schedule import (
    CRON_ALIASES,
    MONTH_NAMES,
    Schedule,
    ScheduleError,
    parse_instant,
    parse_schedule,
)

MSG_INVALID = "Invalid schedule: {error}"
MANUAL_TEXT = "Manual only"
_INTERVAL_UNITS = ((3600, "hour"), (60, "minute"), (1, "second"))


def describe_schedule(document: dict[str, Any], *, timezone: str) -> str:
    """Return words for one schedule, e.g. "Daily at 09:00 (Asia/Hong_Kong)".

    The document's own "timezone" wins over `timezone`. An invalid document
    gives "Invalid schedule: <field>: <message>" instead of raising.
    """
    try:
        schedule = parse_schedule(document, default_timezone=timezone)
    except ScheduleError as exc:
        return MSG_INVALID.format(error=exc)
    return DESCRIBERS[schedule.kind](schedule)


def describe_schedules(documents: list[dict[str, Any]], *, timezone: str) -> str:
    """Return words for several schedules, joined with "; "."""
    return "; ".join(describe_schedule(doc, timezone=timezone) for doc in documents)


def _describe_manual(schedule: Schedule) -> str:
    return MANUAL_TEXT


def _describe_interval(schedule: Schedule) -> str:
    # Elapsed time: the zone matters only to show the start.
    seconds = schedule.document["seconds"]
    # The largest unit that divides evenly: 5400 s is "Every 90 minutes".
    size, unit = next((s, u) for s, u in _INTERVAL_UNITS if seconds % s == 0)
    count = seconds // size
    words = f"Every {unit}" if count == 1 else f"Every {count} {unit}s"
    if not schedule.has_start:
        return words
    start = parse_instant(schedule.document["start"]).astimezone(schedule.zone)
    return f"{words} from {start:%Y-%m-%d %H:%M:%S} ({schedule.zone.key})"


def _once_words(document: dict[str, Any]) -> str:
    day, _, at = document["at"].partition("T")
    return f"Once on {day} at {at}"


def _in_zone(words: Callable[[dict[str, Any]], str]) -> Callable[[Schedule], str]:
    """Return a describer that adds the zone to the words for a document."""

    def describe(schedule: Schedule) -> str:
        return f"{words(schedule.document)} ({schedule.zone.key})"

    return describe


def _hourly_words(document: dict[str, Any]) -> str:
    return f"Every hour at :{document['minute']:02d}"


def _daily_words(document: dict[str, Any]) -> str:
    return f"Daily at {document['time']}"


def _weekly_words(document: dict[str, Any]) -> str:
    days = ", ".join(day.title() for day in document["weekdays"])
    return f"Weekly on {days} at {document['time']}"


def _monthly_words(document: dict[str, Any]) -> str:
    day = document["day"]
    on = "the last day" if day == "last" else f"day {day}"
    return f"Monthly on {on} at {document['time']}"


def _yearly_words(document: dict[str, Any]) -> str:
    day = document["day"]
    month = MONTH_NAMES[document["month"] - 1]
    on = f"the last day of {month}" if day == "last" else f"{day} {month}"
    return f"Yearly on {on} at {document['time']}"


def _cron_words(document: dict[str, Any]) -> str:
    return _describe_cron(document["expression"])


def _describe_cron(expression: str) -> str:
    """Return "Cron <expression>: <words>", or just the expression if needed."""
    fields = CRON_ALIASES.get(expression.lower(), expression).split(" ")
    options = Options(locale_code="en_US", use_24hour_time_format=True)
    try:
        descriptor = ExpressionDescriptor(" ".join(fields), options)
        words = descriptor.get_description()
        weekday_words = descriptor.get_description(DescriptionTypeEnum.DAYOFWEEK)
    except (FormatError, MissingFieldError, WrongArgumentError, ValueError):
        return f"Cron {expression}"
    # cron-descriptor joins restricted day fields with "or" whenever the
    # day-of-month is not '*'; the engine (ISC cron) needs both to match when
    # either field starts with '*', and either one only when neither does.
    day_of_month, day_of_week = fields[2], fields[4]
    if day_of_month != "*" and day_of_week != "*" and weekday_words:
        either = not day_of_month.startswith("*") and not day_of_week.startswith("*")
        day = weekday_words.removeprefix(", or on ")
        if day != weekday_words:
            fixed = weekday_words if either else f", only on {day}"
        else:
            fixed = (
                f", or {weekday_words.removeprefix(', ')}" if either else weekday_words
            )
        words = words.replace(weekday_words, fixed, 1)
    return f"Cron {expression}: {words}"


# How each kind of `jobs.schedule.KINDS` is put in words; a test checks that
# every kind has an entry.
DESCRIBERS: dict[str, Callable[[Schedule], str]] = {
    "interval": _describe_interval,
    "hourly": _in_zone(_hourly_words),
    "daily": _in_zone(_daily_words),
    "weekly": _in_zone(_weekly_words),
    "monthly": _in_zone(_monthly_words),
    "yearly": _in_zone(_yearly_words),
    "cron": _in_zone(_cron_words),
    "once": _in_zone(_once_words),
    "manual": _describe_manual,
}
