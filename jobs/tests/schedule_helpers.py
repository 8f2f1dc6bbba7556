"""Zones, instants and document helpers shared by the schedule engine tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import settings

from jobs.schedule import Schedule, parse_schedule

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


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def wall(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return a naive wall-clock datetime."""
    # Wall times are naive by design.
    return datetime(year, month, day, hour, minute)  # noqa: DTZ001


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
