"""`manage.py preview_schedule`: show when a schedule document would fire."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobportal import clock
from jobs import blackout, conf
from jobs.presentation import MSG_BLACKOUT_REMOVED
from jobs.schedule import FireTime, ScheduleError, anchored, parse_schedule
from jobs.schedule_text import describe_schedule
from jobs.selectors import blackout_calendars_named

MAX_COUNT = 1000
MSG_JSON = "The schedule is not valid JSON: {problem} (line {line}, column {column})."
MSG_SCHEDULE = "Invalid schedule: {error}"
MSG_AFTER = (
    "--after must be an ISO-8601 date and time such as 2026-01-01T09:00 or "
    "2026-01-01T01:00:00+00:00, got {value!r}."
)
MSG_COUNT = "--count must be a whole number from 1 to {maximum}, got {value!r}."
MSG_RANGE = (
    "Cannot list fire instants that far out: --after {value!r} with --count "
    "{count} leaves the calendar (years 1 to 9999)."
)
MSG_MANUAL = "Manual schedule: runs only when triggered."
MSG_GAP = "moved from {wall:%H:%M} (DST gap)"
MSG_FOLD_FIRST = "first of two {local:%H:%M}s (DST fold)"
MSG_FOLD_SECOND = "second {local:%H:%M} (DST fold)"
MSG_UNKNOWN_BLACKOUTS = "--blackouts: no blackout calendar is named: {names}."


class Command(BaseCommand):
    help = (
        "Print the next fire instants of a schedule document strictly after "
        "--after (default: now), in the schedule's timezone and in UTC, "
        "marking instants a DST change moved. A document without "
        '"timezone" uses JOB_PORTAL_TIMEZONE. With --json, print only a JSON '
        'array of UTC instants in ISO 8601 ("2026-01-01T01:00:00+00:00"). '
        "With --blackouts, instants a blackout window removes (of the "
        "calendars named and the global ones) are marked with the window."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the schedule document and the options."""
        parser.add_argument(
            "schedule",
            help='A schedule document as JSON, e.g. \'{"type": "daily", '
            '"time": "09:00"}\'.',
        )
        parser.add_argument(
            "--after",
            default=None,
            help="Start after this ISO-8601 instant (default: now). Without an "
            "offset it is read in the schedule's timezone.",
        )
        parser.add_argument(
            "--count",
            default=5,
            help=f"How many instants to print, 1 to {MAX_COUNT} (default: 5).",
        )
        parser.add_argument(
            "--blackouts",
            default=None,
            help="Mark instants inside the windows of these blackout calendars "
            "(comma-separated names, a job's; may be empty) and of the global "
            "ones.",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print only a JSON array of ISO-8601 UTC instants.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Parse the inputs, ask the engine, print the instants."""
        document = _load_document(options["schedule"])
        try:
            schedule = parse_schedule(
                document, default_timezone=conf.default_timezone()
            )
        except ScheduleError as exc:
            raise CommandError(MSG_SCHEDULE.format(error=exc)) from None
        calendars = _calendars(options["blackouts"])
        count = _count(options["count"])
        after = _after(options["after"], zone=schedule.zone)
        # An interval without a start counts from --after, as if saved then.
        schedule = anchored(schedule, after)
        try:
            fires = schedule.fire_times(after, count)
        except OverflowError:
            raise CommandError(
                MSG_RANGE.format(value=str(options["after"]), count=count)
            ) from None
        if options["json"]:
            self.stdout.write(json.dumps([fire.at.isoformat() for fire in fires]))
            return
        if schedule.is_manual:
            self.stdout.write(MSG_MANUAL)
            return
        self.stdout.write(
            describe_schedule(schedule.document, timezone=conf.default_timezone())
        )
        with_seconds = any(fire.at.second for fire in fires)
        for fire in fires:
            line = _line(fire, with_seconds=with_seconds)
            hit = blackout.blackout_at(calendars, fire.at)
            if hit is not None:
                removed = MSG_BLACKOUT_REMOVED.format(window=repr(hit.name))
                line = f"{line}   {removed}"
            self.stdout.write(line)


def _calendars(option: str | None) -> list[blackout.Calendar]:
    """Return the calendars --blackouts asks for (none without it), or raise."""
    if option is None:
        return []
    names = [name.strip() for name in option.split(",") if name.strip()]
    calendars, unknown = blackout_calendars_named(names)
    if unknown:
        raise CommandError(MSG_UNKNOWN_BLACKOUTS.format(names=", ".join(unknown)))
    return calendars


def _load_document(text: str) -> Any:
    """Return the JSON document, or raise CommandError with where it broke."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(
            MSG_JSON.format(problem=exc.msg, line=exc.lineno, column=exc.colno)
        ) from None


def _count(value: Any) -> int:
    """Return `value` as a count from 1 to MAX_COUNT, or raise CommandError."""
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise CommandError(MSG_COUNT.format(maximum=MAX_COUNT, value=value)) from None
    if isinstance(value, bool) or not 1 <= count <= MAX_COUNT:
        raise CommandError(MSG_COUNT.format(maximum=MAX_COUNT, value=value))
    return count


def _after(value: str | datetime | None, *, zone: ZoneInfo) -> datetime:
    """Return --after as an aware datetime; a naive one is in `zone`."""
    if value is None:
        return clock.now()
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise CommandError(MSG_AFTER.format(value=value)) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=zone)
    return moment


def _line(fire: FireTime, *, with_seconds: bool) -> str:
    """Return one instant as "local (offset)  =  UTC   note"."""
    pattern = "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M"
    local = fire.local
    text = (
        f"{local.strftime(pattern)} {local.tzname()} ({_offset(local)})"
        f"  =  {fire.at.strftime(pattern)} UTC"
    )
    note = _note(fire)
    return f"{text}   {note}" if note else text


def _note(fire: FireTime) -> str:
    """Explain an instant a DST change moved or made ambiguous."""
    if fire.moved_from is not None:
        return MSG_GAP.format(wall=fire.moved_from)
    local = fire.local
    other = local.replace(fold=1 - local.fold)
    if other.utcoffset() == local.utcoffset():
        return ""
    return (MSG_FOLD_SECOND if local.fold else MSG_FOLD_FIRST).format(local=local)


def _offset(moment: datetime) -> str:
    """Return the UTC offset as "+08:00" (seconds only when there are any)."""
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    seconds = int(abs(offset).total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{seconds:02d}" if seconds else text
