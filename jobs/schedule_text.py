"""Describe schedule documents in words, for the admin and previews.

Pure Python: no Django imports. Each document is read through
`jobs.schedule.parse_schedule`, so the words describe what the engine runs,
and an invalid document is described rather than raised.
"""

from __future__ import annotations

from typing import Any

from cron_descriptor import (
    DescriptionTypeEnum,
    ExpressionDescriptor,
    FormatError,
    MissingFieldError,
    Options,
    WrongArgumentError,
)

from jobs.schedule import CRON_ALIASES, MONTH_NAMES, ScheduleError, parse_schedule

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
    if schedule.kind == "manual":
        return MANUAL_TEXT
    if schedule.kind == "interval":
        # Elapsed time: the zone never matters, so it is not shown.
        return _describe_interval(schedule.document["seconds"])
    return f"{_describe_wall_clock(schedule.document)} ({schedule.zone.key})"


def describe_schedules(documents: list[dict[str, Any]], *, timezone: str) -> str:
    """Return words for several schedules, joined with "; "."""
    return "; ".join(describe_schedule(doc, timezone=timezone) for doc in documents)


def _describe_interval(seconds: int) -> str:
    # The largest unit that divides evenly: 5400 s is "Every 90 minutes".
    size, unit = next((s, u) for s, u in _INTERVAL_UNITS if seconds % s == 0)
    count = seconds // size
    return f"Every {unit}" if count == 1 else f"Every {count} {unit}s"


def _describe_wall_clock(document: dict[str, Any]) -> str:
    kind = document["type"]
    if kind == "hourly":
        return f"Every hour at :{document['minute']:02d}"
    if kind == "cron":
        return _describe_cron(document["expression"])
    at = document["time"]
    if kind == "daily":
        return f"Daily at {at}"
    if kind == "weekly":
        days = ", ".join(day.title() for day in document["weekdays"])
        return f"Weekly on {days} at {at}"
    day = document["day"]
    if kind == "monthly":
        on = "the last day" if day == "last" else f"day {day}"
        return f"Monthly on {on} at {at}"
    month = MONTH_NAMES[document["month"] - 1]
    on = f"the last day of {month}" if day == "last" else f"{day} {month}"
    return f"Yearly on {on} at {at}"


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
