"""Parse schedule documents and compute their fire instants.

Pure Python: no Django imports and no clock reads. Every instant that goes in
or comes out is a timezone-aware datetime; results are in UTC.

A schedule is stored as wall-clock terms in an IANA timezone, never converted
to UTC. Fire instants follow ISC (Vixie) cron across DST changes:

* fixed-time schedules (daily, weekly, monthly, yearly, and cron whose minute
  and hour fields both do not start with ``*``): a local time skipped by a
  spring-forward gap fires once, at the first instant after the gap; a local
  time that a fall-back fold makes ambiguous fires once, at its first
  occurrence;
* wildcard schedules (hourly, and cron with ``*`` leading the minute or hour
  field): fire at every real instant whose local time matches, so a gap's
  times never occur and a fold's occur twice.

An interval fires at ``start + k * seconds`` (k >= 0); a document without
``start`` counts from the Unix epoch, and `job_save` stamps ``start`` with
the moment the job is first saved (`interval_starts_stamp`). A one-off
("once") schedule fires once, at a wall-clock time resolved like the
fixed-time rules.

`KINDS` (after the parsers it names) is the table of schedule kinds: each
kind's document fields, its label and its parser. Forms, the admin and
`jobs.schedule_text` derive from it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from croniter.croniter import CroniterError

from jobs.errors import JobsError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTH_NAMES = tuple(calendar.month_name)[1:]
CRON_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
# Each field is checked alone inside an expression that is otherwise valid,
# so that the error can name the field croniter rejected.
_CRON_FIELD_PROBES = (
    "{} 0 1 1 *",
    "0 {} 1 1 *",
    "0 0 {} * *",
    "0 0 1 {} *",
    "0 0 * * {}",
)
_CRON_FIELD_CHARS = re.compile(r"^[0-9A-Za-z*,/-]+$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
# An instant with its offset ("Z" or "+08:00"); seconds and fractions optional.
_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$",
    re.IGNORECASE,
)
# A wall-clock date and time without offset ("2026-12-24T09:00").
_WALL = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")
# Longest run of days a valid schedule can go without firing: cron's Feb 29
# on one weekday ("0 0 29 2 */7") recurs up to 40 years apart when a century
# skips its leap year, plus slack.
_MAX_SEARCH_DAYS = 366 * 41
# The largest UTC offset change on record is two hours; three is a safe margin
# when stepping back from `after` to the wall time to start searching from.
_MAX_DST_SHIFT = timedelta(hours=3)
_INTERVAL_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CRON_RANGES = (range(60), range(24), range(1, 32), range(1, 13), range(7))

MSG_NOT_OBJECT = "A schedule must be a JSON object."
MSG_UNKNOWN_TYPE = "Unknown schedule type {value!r}; expected one of: {choices}."
MSG_UNKNOWN_FIELD = "Unknown field for {kind} schedules: {fields}."
MSG_REQUIRED = "This field is required for {kind} schedules."
MSG_TIMEZONE = "Unknown timezone {value!r}; use an IANA name like 'Asia/Hong_Kong'."
MSG_TIME = "Time must be 'HH:MM' in 24-hour form (00:00 to 23:59), got {value!r}."
MSG_INTEGER = "Must be a whole number, got {value!r}."
MSG_SECONDS = "Must be a whole number of seconds greater than 0, got {value!r}."
# Ten years: far beyond any useful interval, and far from datetime's limits.
MAX_INTERVAL_SECONDS = 10 * 366 * 24 * 3600
MSG_SECONDS_MAX = "Must be at most {limit} seconds (ten years), got {value!r}."
MSG_START = (
    "Start must be an ISO-8601 instant with its offset, e.g. "
    "'2026-03-01T14:10:00+08:00' or '2026-03-01T06:10:00Z'; got {value!r}."
)
MSG_AT = (
    "Must be a local date and time without offset, 'YYYY-MM-DDTHH:MM', "
    "e.g. '2026-12-24T09:00'; got {value!r}."
)
MSG_MINUTE = "Minute must be from 0 to 59, got {value!r}."
MSG_WEEKDAYS = (
    "Weekdays must be a non-empty list of: mon, tue, wed, thu, fri, sat, sun."
)
MSG_WEEKDAY = "Unknown weekday {value!r}; use mon, tue, wed, thu, fri, sat or sun."
MSG_DAY = "Day must be from 1 to 31 or 'last', got {value!r}."
MSG_MONTH = "Month must be from 1 to 12, got {value!r}."
MSG_YEARLY_DAY = "{month} has at most {days} days, got {value!r}."
MSG_CRON_TEXT = "Cron expression must be a string, got {value!r}."
MSG_CRON_FIELDS = (
    "Cron expression must have 5 fields (minute hour day-of-month month "
    "day-of-week) or be one of {aliases}; got {count} field(s)."
)
MSG_CRON_FIELD = "Cron {field} field {value!r} is not valid: {reason}."
MSG_CRON_BACKWARDS = "range {part!r} runs backwards; split it in two, e.g. 22-23,0-1"
MSG_CRON_NEVER = "Cron expression {value!r} never fires: no month has that day."


class ScheduleError(JobsError, ValueError):
    """A schedule document is invalid; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FireTime:
    """One fire instant: `at` in UTC, `local` in the schedule's zone.

    `moved_from` is the wall time the schedule asked for when a DST gap
    skipped it and the fire moved to the first instant after the gap.
    """

    at: datetime
    local: datetime
    moved_from: datetime | None = None


@dataclass(frozen=True)
class Schedule:
    """A validated schedule: its kind, zone and normalised document."""

    kind: str
    zone: ZoneInfo
    document: dict[str, Any]
    wall_times: WallTimes | None

    @property
    def is_manual(self) -> bool:
        """Return True for a schedule that only runs when triggered."""
        return self.kind == "manual"

    @property
    def is_wildcard(self) -> bool:
        """Return True if every matching real instant fires (gaps/folds)."""
        return self.wall_times is not None and self.wall_times.wildcard

    @property
    def has_start(self) -> bool:
        """Return True for an interval anchored at a stated start."""
        return self.kind == "interval" and "start" in self.document

    def next_after(self, after: datetime) -> FireTime | None:
        """Return the first fire instant strictly after `after`, or None."""
        _require_aware(after)
        if self.kind == "manual":
            return None
        if self.kind == "interval":
            start = self.document.get("start")
            anchor = _INTERVAL_EPOCH if start is None else parse_instant(start)
            return _next_interval(self.document["seconds"], self.zone, after, anchor)
        if self.kind == "once":
            fire = _resolve_fixed(_parse_wall(self.document["at"]), self.zone)
            return fire if fire.at > after else None
        assert self.wall_times is not None  # noqa: S101 - set for every other kind
        return _next_wall_time(self.wall_times, self.zone, after)

    def fire_times(self, after: datetime, count: int) -> list[FireTime]:
        """Return up to `count` consecutive fire instants after `after`."""
        result: list[FireTime] = []
        cursor = after
        while len(result) < count:
            fire = self.next_after(cursor)
            if fire is None:
                break
            result.append(fire)
            cursor = fire.at
        return result


def parse_schedule(doc: Any, *, default_timezone: str) -> Schedule:
    """Validate a schedule document and return it as a `Schedule`.

    Raise `ScheduleError` naming the field when the document is invalid.
    """
    kind = _parse_kind(doc)
    # A blank zone (an empty admin field) means the job's default; any other
    # non-string value is refused rather than silently replaced.
    zone_name = doc.get("timezone")
    if zone_name is None or zone_name == "":
        zone_name = default_timezone
    zone = parse_timezone(zone_name, field="timezone")
    terms, wall_times = kind.parse(doc)
    normalised: dict[str, Any] = {"type": kind.name, **terms}
    if doc.get("timezone"):
        normalised["timezone"] = zone_name
    return Schedule(
        kind=kind.name, zone=zone, document=normalised, wall_times=wall_times
    )


def anchored(schedule: Schedule, start: datetime) -> Schedule:
    """Return `schedule` counting from `start` if it is an unanchored interval.

    Other schedules, and intervals with their own start, come back as they
    are. For previews: an interval not saved yet starts when it is asked.
    """
    if schedule.kind != "interval" or schedule.has_start:
        return schedule
    document = {**schedule.document, "start": _instant_text(start)}
    return Schedule(schedule.kind, schedule.zone, document, schedule.wall_times)


def interval_starts_stamp(
    documents: list[dict[str, Any]],
    *,
    previous: list[dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """Return normalised `documents` with every interval's "start" filled in.

    An interval without a start keeps the start of a previous interval of
    the same length (a later edit keeps the phase), else starts at `now`
    (the moment the job is first saved with it).
    """
    _require_aware(now)
    kept: dict[Any, list[str]] = {}
    for old in previous:
        if old.get("type") == "interval" and "start" in old:
            kept.setdefault(old["seconds"], []).append(old["start"])
    result = []
    for document in documents:
        if document.get("type") == "interval" and "start" not in document:
            same = kept.get(document["seconds"])
            # Whole seconds: a readable start, at most a second early.
            start = same.pop(0) if same else _instant_text(now.replace(microsecond=0))
            document = {**document, "start": start}
        result.append(document)
    return result


def parse_instant(value: Any, *, field: str = "start") -> datetime:
    """Return an ISO-8601 instant with offset (or Z) as a UTC datetime."""
    if not isinstance(value, str) or not _INSTANT.match(value.strip()):
        raise ScheduleError(field, MSG_START.format(value=value))
    text = value.strip()
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ScheduleError(field, MSG_START.format(value=value)) from None
    return parsed.astimezone(UTC)


def _instant_text(value: datetime) -> str:
    """Return an instant as the normalised text documents hold: UTC, "Z"."""
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"


def _parse_wall(value: Any, *, field: str = "at") -> datetime:
    """Return a naive local date and time ("2026-12-24T09:00")."""
    if not isinstance(value, str) or not _WALL.match(value.strip()):
        raise ScheduleError(field, MSG_AT.format(value=value))
    try:
        return datetime.fromisoformat(value.strip().replace(" ", "T"))
    except ValueError:
        raise ScheduleError(field, MSG_AT.format(value=value)) from None


def _parse_kind(doc: Any) -> Kind:
    """Return the document's kind after checking which fields it has."""
    if not isinstance(doc, Mapping):
        raise ScheduleError("schedule", MSG_NOT_OBJECT)
    name = doc.get("type")
    if name is None:
        raise ScheduleError("type", MSG_REQUIRED.format(kind="all"))
    # An unhashable "type" (a list, say) is refused like any unknown name.
    if not isinstance(name, str) or name not in KINDS:
        raise ScheduleError(
            "type", MSG_UNKNOWN_TYPE.format(value=name, choices=", ".join(KINDS))
        )
    kind = KINDS[name]
    allowed = {"type", "timezone", *kind.fields, *kind.optional}
    unknown = sorted(str(key) for key in doc if key not in allowed)
    if unknown:
        raise ScheduleError(
            unknown[0], MSG_UNKNOWN_FIELD.format(kind=name, fields=", ".join(unknown))
        )
    for field in kind.fields:
        if doc.get(field) is None:
            raise ScheduleError(field, MSG_REQUIRED.format(kind=name))
    return kind


def parse_timezone(name: Any, *, field: str = "timezone") -> ZoneInfo:
    """Return the IANA zone called `name`, or raise `ScheduleError`."""
    if not isinstance(name, str) or not name or name.startswith(("/", ".")):
        raise ScheduleError(field, MSG_TIMEZONE.format(value=name))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        raise ScheduleError(field, MSG_TIMEZONE.format(value=name)) from None


def next_fire(schedules: list[Schedule], after: datetime) -> FireTime | None:
    """Return the earliest fire instant of any schedule strictly after `after`.

    Several schedules firing at the same instant give that instant once.
    """
    candidates = [fire for s in schedules if (fire := s.next_after(after)) is not None]
    return min(candidates, key=lambda fire: fire.at, default=None)


def merged_fire_times(
    schedules: list[Schedule], after: datetime, count: int
) -> list[FireTime]:
    """Return the next `count` distinct fire instants across `schedules`."""
    result: list[FireTime] = []
    cursor = after
    while len(result) < count:
        fire = next_fire(schedules, cursor)
        if fire is None:
            break
        result.append(fire)
        cursor = fire.at
    return result


# --- wall-clock terms --------------------------------------------------------


@dataclass(frozen=True)
class DaySet:
    """Which calendar days match: months, days of month and weekdays.

    `month_days` may hold -1 for "the last day of the month". With `clamp`,
    a day past a month's end means its last day (monthly/yearly documents).
    `either` is cron's rule: when both day fields are restricted, a day
    matching either one fires.
    """

    months: frozenset[int] = frozenset(range(1, 13))
    month_days: frozenset[int] | None = None
    weekdays: frozenset[int] | None = None  # 0 = Monday
    clamp: bool = False
    either: bool = False

    def matches(self, day: date) -> bool:
        """Return True if `day` is one of the set's days."""
        if day.month not in self.months:
            return False
        by_month_day = self.month_days is None or self._month_day_matches(day)
        by_weekday = self.weekdays is None or day.weekday() in self.weekdays
        if self.either:
            return by_month_day or by_weekday
        return by_month_day and by_weekday

    def _month_day_matches(self, day: date) -> bool:
        assert self.month_days is not None  # noqa: S101 - checked by caller
        last = calendar.monthrange(day.year, day.month)[1]
        if day.day in self.month_days:
            return True
        if day.day != last:
            return False
        return -1 in self.month_days or (
            self.clamp and any(d > last for d in self.month_days)
        )


@dataclass(frozen=True)
class WallTimes:
    """The local wall times a schedule fires at, as sorted minutes and hours."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: DaySet = DaySet()
    wildcard: bool = False

    def from_(self, start: datetime) -> Iterator[datetime]:
        """Yield matching naive wall times at or after naive `start`."""
        day = start.date()
        for _ in range(_MAX_SEARCH_DAYS):
            if self.days.matches(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        wall = datetime.combine(day, time(hour, minute))
                        if wall >= start:
                            yield wall
            day += timedelta(days=1)


_Terms = tuple[dict[str, Any], WallTimes | None]


def _parse_interval(doc: Mapping[str, Any]) -> _Terms:
    terms: dict[str, Any] = {"seconds": _positive_int(doc["seconds"], "seconds")}
    # A blank start (an empty admin field) means none.
    start = doc.get("start")
    if start is not None and start != "":
        terms["start"] = _instant_text(parse_instant(start))
    return terms, None


def _parse_once(doc: Mapping[str, Any]) -> _Terms:
    at = _parse_wall(doc["at"])
    return {
        "at": at.isoformat(timespec="minutes" if not at.second else "seconds")
    }, None


def _parse_hourly(doc: Mapping[str, Any]) -> _Terms:
    minute = _int(doc["minute"], "minute")
    if not 0 <= minute <= 59:
        raise ScheduleError("minute", MSG_MINUTE.format(value=doc["minute"]))
    hours = tuple(range(24))
    return {"minute": minute}, WallTimes(minutes=(minute,), hours=hours, wildcard=True)


def _parse_daily(doc: Mapping[str, Any]) -> _Terms:
    at = _parse_time(doc["time"])
    return {"time": _hhmm(at)}, _at(at, DaySet())


def _parse_weekly(doc: Mapping[str, Any]) -> _Terms:
    at = _parse_time(doc["time"])
    weekdays = _parse_weekdays(doc["weekdays"])
    terms = {"time": _hhmm(at), "weekdays": [WEEKDAYS[i] for i in sorted(weekdays)]}
    return terms, _at(at, DaySet(weekdays=frozenset(weekdays)))


def _parse_monthly(doc: Mapping[str, Any]) -> _Terms:
    at = _parse_time(doc["time"])
    day = _parse_month_day(doc["day"])
    terms = {"time": _hhmm(at), "day": "last" if day == -1 else day}
    return terms, _at(at, DaySet(month_days=frozenset({day}), clamp=True))


def _parse_yearly(doc: Mapping[str, Any]) -> _Terms:
    at = _parse_time(doc["time"])
    month = _int(doc["month"], "month")
    if not 1 <= month <= 12:
        raise ScheduleError("month", MSG_MONTH.format(value=doc["month"]))
    day = _parse_month_day(doc["day"])
    longest = 29 if month == 2 else calendar.monthrange(2001, month)[1]
    if day > longest:
        raise ScheduleError(
            "day",
            MSG_YEARLY_DAY.format(
                month=MONTH_NAMES[month - 1], days=longest, value=doc["day"]
            ),
        )
    terms = {"time": _hhmm(at), "month": month, "day": "last" if day == -1 else day}
    days = DaySet(months=frozenset({month}), month_days=frozenset({day}), clamp=True)
    return terms, _at(at, days)


def _parse_cron_kind(doc: Mapping[str, Any]) -> _Terms:
    expression, wall_times = _parse_cron(doc["expression"])
    return {"expression": expression}, wall_times


def _parse_manual(doc: Mapping[str, Any]) -> _Terms:
    return {}, None


def _at(at: time, days: DaySet) -> WallTimes:
    """Return the wall times of a schedule that fires once a day at `at`."""
    return WallTimes(minutes=(at.minute,), hours=(at.hour,), days=days)


def _hhmm(at: time) -> str:
    return at.strftime("%H:%M")


def _parse_time(value: Any) -> time:
    match = _TIME.match(value) if isinstance(value, str) else None
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ScheduleError("time", MSG_TIME.format(value=value))
    return time(int(match[1]), int(match[2]))


def _parse_weekdays(value: Any) -> set[int]:
    if not isinstance(value, list) or not value:
        raise ScheduleError("weekdays", MSG_WEEKDAYS)
    result = set()
    for item in value:
        name = item.lower() if isinstance(item, str) else item
        if name not in WEEKDAYS:
            raise ScheduleError("weekdays", MSG_WEEKDAY.format(value=item))
        result.add(WEEKDAYS.index(name))
    return result


def _parse_month_day(value: Any) -> int:
    if value == "last":
        return -1
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ScheduleError("day", MSG_DAY.format(value=value))
    try:
        day = int(value)
    except ValueError:
        raise ScheduleError("day", MSG_DAY.format(value=value)) from None
    if not 1 <= day <= 31:
        raise ScheduleError("day", MSG_DAY.format(value=value))
    return day


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ScheduleError(field, MSG_INTEGER.format(value=value))
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise ScheduleError(field, MSG_INTEGER.format(value=value))


def _positive_int(value: Any, field: str) -> int:
    try:
        number = _int(value, field)
    except ScheduleError:
        raise ScheduleError(field, MSG_SECONDS.format(value=value)) from None
    if number <= 0:
        raise ScheduleError(field, MSG_SECONDS.format(value=value))
    if number > MAX_INTERVAL_SECONDS:
        raise ScheduleError(
            field, MSG_SECONDS_MAX.format(limit=MAX_INTERVAL_SECONDS, value=value)
        )
    return number


def _parse_cron(value: Any) -> tuple[str, WallTimes]:
    if not isinstance(value, str):
        raise ScheduleError("expression", MSG_CRON_TEXT.format(value=value))
    text = " ".join(value.split())
    expression = CRON_ALIASES.get(text.lower(), text)
    fields = expression.split(" ") if expression else []
    if len(fields) != 5:
        raise ScheduleError(
            "expression",
            MSG_CRON_FIELDS.format(aliases=", ".join(CRON_ALIASES), count=len(fields)),
        )
    expanded = [_expand_cron_field(i, field) for i, field in enumerate(fields)]
    minutes, hours, month_days, months, weekdays = expanded
    # Vixie cron: a day field is "restricted" unless it starts with '*'; when
    # both are restricted a day matching either fires, otherwise both must.
    # A '*'-led field still keeps its values: "*/2" means odd days only.
    dom_star, dow_star = fields[2].startswith("*"), fields[4].startswith("*")
    days = DaySet(
        months=frozenset(months),
        month_days=frozenset(month_days),
        # cron counts weekdays from Sunday = 0, Python from Monday = 0.
        weekdays=frozenset((d - 1) % 7 for d in weekdays),
        either=not dom_star and not dow_star,
    )
    if not days.either:
        longest = max(
            29 if m == 2 else calendar.monthrange(2001, m)[1] for m in days.months
        )
        if days.month_days is not None and min(days.month_days) > longest:
            raise ScheduleError("expression", MSG_CRON_NEVER.format(value=text))
    wall_times = WallTimes(
        minutes=tuple(minutes),
        hours=tuple(hours),
        days=days,
        wildcard=fields[0].startswith("*") or fields[1].startswith("*"),
    )
    return text, wall_times


def _expand_cron_field(index: int, field: str) -> list[int]:
    """Return the sorted values of one cron field, or raise `ScheduleError`."""
    name = CRON_FIELDS[index]
    if not _CRON_FIELD_CHARS.match(field):
        raise ScheduleError(
            "expression",
            MSG_CRON_FIELD.format(
                field=name, value=field, reason="use numbers, names, '*', ',', '-', '/'"
            ),
        )
    values: set[int] = set()
    for part in field.split(","):
        part_values = _croniter_values(index, part, field)
        low, _, high = part.split("/")[0].partition("-")
        # croniter reads an equal range ("5-5", "jan-1") as the whole cycle;
        # ISC cron reads it as that one value. Digits are compared as written
        # so that day-of-week "0-7" (every day) stays a range.
        if high:
            first, last = (
                _cron_number(index, low, field),
                _cron_number(index, high, field),
            )
            if first > last:
                # ISC cron refuses a range that runs backwards; croniter
                # would wrap it, which hides typos like "7-0".
                raise ScheduleError(
                    "expression",
                    MSG_CRON_FIELD.format(
                        field=name,
                        value=field,
                        reason=MSG_CRON_BACKWARDS.format(part=part),
                    ),
                )
            if first == last:
                part_values = _croniter_values(index, low, field)
        values.update(part_values)
    return sorted(values)


def _cron_number(index: int, text: str, field: str) -> int:
    """Return the number a cron range end stands for, as written."""
    return int(text) if text.isdigit() else _croniter_values(index, text, field)[0]


def _croniter_values(index: int, text: str, field: str) -> list[int]:
    """Expand `text` as cron field `index` with croniter, or raise `ScheduleError`."""
    name = CRON_FIELDS[index]
    try:
        values = croniter.expand(_CRON_FIELD_PROBES[index].format(text))[0][index]
    except (CroniterError, ValueError) as exc:
        # croniter says "out of range" for a value and "out of bands" for a range.
        reason = (
            "out of range"
            if "out of range" in str(exc) or "out of bands" in str(exc)
            else "not understood"
        )
        raise ScheduleError(
            "expression", MSG_CRON_FIELD.format(field=name, value=field, reason=reason)
        ) from None
    if values == ["*"]:
        return list(_CRON_RANGES[index])
    numbers = [v for v in values if isinstance(v, int)]
    if len(numbers) != len(values):
        raise ScheduleError(
            "expression",
            MSG_CRON_FIELD.format(field=name, value=field, reason="not understood"),
        )
    return sorted(numbers)


# --- schedule kinds -----------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One schedule kind: its document fields, its label and its parser.

    `fields` are the document fields the kind requires, in the order a form
    shows them ("type" and "timezone" are accepted by every kind), and
    `optional` those it also accepts. `parse`
    gets a document that holds exactly those fields and returns their
    normalised values with the wall times the kind fires at (None for kinds
    that do not follow the wall clock).
    """

    name: str
    label: str
    fields: tuple[str, ...]
    parse: Callable[[Mapping[str, Any]], _Terms]
    optional: tuple[str, ...] = ()


# Every schedule kind, in the order forms offer them. Forms, the admin,
# choices and `jobs.schedule_text` derive from this table.
KINDS: Mapping[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "interval",
            "Interval (every N seconds)",
            ("seconds",),
            _parse_interval,
            optional=("start",),
        ),
        Kind("hourly", "Hourly", ("minute",), _parse_hourly),
        Kind("daily", "Daily", ("time",), _parse_daily),
        Kind("weekly", "Weekly", ("weekdays", "time"), _parse_weekly),
        Kind("monthly", "Monthly", ("day", "time"), _parse_monthly),
        Kind("yearly", "Yearly", ("month", "day", "time"), _parse_yearly),
        Kind("cron", "Cron expression", ("expression",), _parse_cron_kind),
        Kind("once", "Once (at one date and time)", ("at",), _parse_once),
        Kind("manual", "Manual only (never scheduled)", (), _parse_manual),
    )
}


# --- fire instants -----------------------------------------------------------


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("`after` must be a timezone-aware datetime")


def _next_interval(
    seconds: int, zone: ZoneInfo, after: datetime, anchor: datetime
) -> FireTime:
    # Elapsed time from the anchor: DST never matters. Nothing fires before
    # the anchor itself.
    if after < anchor:
        return FireTime(at=anchor, local=anchor.astimezone(zone))
    elapsed = (after - anchor) // timedelta(microseconds=1)
    step = seconds * 1_000_000
    at = anchor + timedelta(microseconds=(elapsed // step + 1) * step)
    return FireTime(at=at, local=at.astimezone(zone))


def _next_wall_time(
    wall: WallTimes, zone: ZoneInfo, after: datetime
) -> FireTime | None:
    start = (after.astimezone(zone) - _MAX_DST_SHIFT).replace(tzinfo=None, fold=0)
    start = start.replace(second=0, microsecond=0)
    if not wall.wildcard:
        return _first_after(wall.from_(start), zone, after, _resolve_fixed)
    # Each resolution maps wall times to instants in order, so the earliest
    # instant overall is the earlier of the two streams' first results.
    fires = [
        _first_after(wall.from_(start), zone, after, resolve)
        for resolve in (_resolve_first, _resolve_second)
    ]
    return min((f for f in fires if f is not None), key=lambda f: f.at, default=None)


_Resolver = Callable[[datetime, ZoneInfo], "FireTime | None"]


def _first_after(
    walls: Iterator[datetime],
    zone: ZoneInfo,
    after: datetime,
    resolve: _Resolver,
) -> FireTime | None:
    for wall in walls:
        fire = resolve(wall, zone)
        if fire is not None and fire.at > after:
            return fire
    return None


def _resolve_fixed(wall: datetime, zone: ZoneInfo) -> FireTime:
    """Map a wall time to one instant: a fold's first, a gap's end."""
    if _in_gap(wall, zone):
        at = _gap_end(wall, zone)
        return FireTime(at=at, local=at.astimezone(zone), moved_from=wall)
    return _fire(wall.replace(tzinfo=zone, fold=0))


def _resolve_first(wall: datetime, zone: ZoneInfo) -> FireTime | None:
    """Map a wall time to its first real instant; None inside a gap."""
    if _in_gap(wall, zone):
        return None
    return _fire(wall.replace(tzinfo=zone, fold=0))


def _resolve_second(wall: datetime, zone: ZoneInfo) -> FireTime | None:
    """Map a wall time to its last real instant; None inside a gap."""
    if _in_gap(wall, zone):
        return None
    return _fire(wall.replace(tzinfo=zone, fold=1))


def _fire(local: datetime) -> FireTime:
    at = local.astimezone(UTC)
    return FireTime(at=at, local=at.astimezone(local.tzinfo))


def _in_gap(wall: datetime, zone: tzinfo) -> bool:
    round_trip = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None) != wall


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """Return the UTC instant at which the gap containing `wall` ends."""
    # fold=1 reads `wall` with the offset after the change (an instant before
    # the gap), fold=0 with the offset before it (an instant after the gap):
    # the transition lies between, found by bisecting on whole seconds.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    before = low.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high
