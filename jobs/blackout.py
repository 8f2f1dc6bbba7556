"""Blackout windows: is an instant inside one, and which.

Pure: no Django imports and no clock reads. A calendar has an IANA zone and
windows of three kinds:

* a one-off range of two instants (``OneOff``), zone-free;
* a weekly window (``Weekly``): from a wall-clock time on a weekday to a
  wall-clock time, in the calendar's zone; an end at or before the start
  means the window crosses midnight into the next day;
* a holiday (``Holiday``): one whole local day, midnight to midnight.

A window covers [start, end): a slot at the very end instant runs.

Daylight saving time, the rule (the schedules' rule, see `jobs.schedule`):
a wall time the clocks skip (02:30 on a spring-forward night) means the
first instant after the gap, and a wall time that happens twice (01:30 on a
fall-back night) means the first of the two. So a weekly window 02:00-04:00
on a spring-forward night in New York lasts one real hour (03:00-04:00
EDT), and one 01:00-01:30 on a fall-back night covers only the first
01:00-01:30 (EDT), not the repeated half hour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jobs import reasons
from jobs.policies import SlotPlan

# Weekday names as the documents and the admin spell them (Monday is 0).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Windows that touch one another are followed this many times at most (a
# calendar of seven all-day weekly windows never ends).
MAX_CHAIN = 100
# Job.BlackoutAction values.
SKIP = "skip"
DEFER = "defer"

MSG_SKIPPED = "Inside blackout window {window} (until {end:%Y-%m-%d %H:%M} UTC)."
MSG_ALREADY_DEFERRED = (
    "Inside blackout window {window}; an earlier slot in it already runs at "
    "its end ({end:%Y-%m-%d %H:%M} UTC)."
)


@dataclass(frozen=True)
class OneOff:
    """A range of instants, [start, end)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Weekly:
    """Every `weekday` (0 = Monday) from `start` to `end`, local wall time."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class Holiday:
    """One whole local day."""

    day: date


Window = OneOff | Weekly | Holiday


@dataclass(frozen=True)
class NamedWindow:
    """A window with the label people read ("Christmas", "Sun 22:00-02:00")."""

    label: str
    window: Window


@dataclass(frozen=True)
class Calendar:
    """A named calendar of windows in one timezone."""

    name: str
    zone: ZoneInfo
    windows: tuple[NamedWindow, ...]


@dataclass(frozen=True)
class Hit:
    """The window an instant falls in: its calendar, label, start and end."""

    calendar: str
    label: str
    start: datetime
    end: datetime

    @property
    def name(self) -> str:
        """Return the window's name as reasons show it: "calendar: label"."""
        return f"{self.calendar}: {self.label}"


def blackout_at(calendars: Iterable[Calendar], at: datetime) -> Hit | None:
    """Return the window `at` is inside, or None.

    When several windows hold `at`, the one that ends last wins, so that a
    slot deferred to its end is outside every window there (windows that
    overlap one another are followed until none holds the instant).
    """
    hit = _longest(calendars, at)
    if hit is None:
        return None
    for _ in range(MAX_CHAIN):
        later = _longest(calendars, hit.end)
        if later is None:
            break
        hit = Hit(hit.calendar, hit.label, hit.start, later.end)
    return hit


def _longest(calendars: Iterable[Calendar], at: datetime) -> Hit | None:
    """Return the window holding `at` that ends last, or None."""
    hits = [
        hit
        for calendar in calendars
        for named in calendar.windows
        if (hit := _hit(calendar, named, at)) is not None
    ]
    return max(hits, key=lambda hit: hit.end, default=None)


def _hit(calendar: Calendar, named: NamedWindow, at: datetime) -> Hit | None:
    """Return the occurrence of `named` that holds `at`, or None."""
    for start, end in occurrences(named.window, calendar.zone, near=at):
        if start <= at < end:
            return Hit(calendar.name, named.label, start, end)
    return None


def occurrences(
    window: Window, zone: ZoneInfo, *, near: datetime
) -> list[tuple[datetime, datetime]]:
    """Return the window's occurrences that may hold `near`, as UTC ranges."""
    if isinstance(window, OneOff):
        return [(window.start.astimezone(UTC), window.end.astimezone(UTC))]
    local_day = near.astimezone(zone).date()
    if isinstance(window, Holiday):
        day = window.day
        start = wall_to_utc(day, time(0), zone)
        return [(start, wall_to_utc(_next(day), time(0), zone))]
    ranges = []
    # A window that crosses midnight started the day before.
    for day in (local_day - timedelta(days=1), local_day):
        if day.weekday() != window.weekday:
            continue
        end_day = _next(day) if window.end <= window.start else day
        start = wall_to_utc(day, window.start, zone)
        ranges.append((start, wall_to_utc(end_day, window.end, zone)))
    return ranges


def _next(day: date) -> date:
    return day + timedelta(days=1)


def wall_to_utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """Return the UTC instant of a local wall time: a fold's first, a gap's end."""
    local = datetime.combine(day, wall)
    first = local.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local:
        return first.astimezone(UTC)
    return _gap_end(local, zone)


def _gap_end(local: datetime, zone: ZoneInfo) -> datetime:
    """Return the UTC instant at which the gap holding `local` ends."""
    # fold=1 reads the wall time with the offset after the change (an instant
    # before the gap), fold=0 with the one before it (an instant after it);
    # the change lies between, found by bisecting on whole seconds.
    low = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    before = low.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def slots_marked(
    calendars: Sequence[Calendar], slots: Iterable[datetime]
) -> list[tuple[datetime, Hit | None]]:
    """Return each slot with the window that removes it, or None."""
    return [(slot, blackout_at(calendars, slot)) for slot in slots]


def weekly_label(weekday: int, start: time, end: time) -> str:
    """Return a weekly window in words: "Sun 22:00-02:00"."""
    return f"{WEEKDAYS[weekday].title()} {start:%H:%M}-{end:%H:%M}"


def plans_blackout(
    plans: Sequence[SlotPlan],
    calendars: Sequence[Calendar],
    *,
    action: str,
    is_deferred: Callable[[Hit], bool],
) -> list[SlotPlan]:
    """Apply blackout windows to the run plans of one job's slots.

    A slot to run inside a window is skipped (reason code ``blackout``,
    naming the window) or, with the ``defer`` action, runs at the window's
    end: only the first slot of each window occurrence, so that an hourly
    job does not run twelve times at the end of a twelve-hour window; the
    later ones are skipped. `is_deferred` says whether an earlier step
    already deferred a slot to that window's end. Skips and blocks stay.
    """
    if not calendars:
        return list(plans)
    deferred: set[datetime] = set()
    result = []
    for plan in plans:
        hit = blackout_at(calendars, plan.scheduled_for) if plan.is_run else None
        if hit is None:
            result.append(plan)
        elif action == DEFER and hit.end not in deferred and not is_deferred(hit):
            deferred.add(hit.end)
            result.append(replace(plan, not_before=hit.end))
        else:
            message = MSG_SKIPPED if action != DEFER else MSG_ALREADY_DEFERRED
            reason = message.format(window=repr(hit.name), end=hit.end)
            result.append(
                SlotPlan(
                    plan.scheduled_for,
                    is_run=False,
                    reason=reason,
                    reason_code=reasons.BLACKOUT,
                )
            )
    return result
