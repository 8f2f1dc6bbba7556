"""Property-based tests for `jobs.schedule` against a reference model.

The reference is an independent reading of DESIGN.md's schedule table;
it walks UTC minute by minute and applies the DST rules directly.
"""

from __future__ import annotations

import calendar
import functools
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jobs.schedule import (
    MSG_CRON_NEVER,
    Schedule,
    ScheduleError,
)
from jobs.tests.schedule_helpers import (
    EPOCH,
    LONDON,
    LORD_HOWE,
    NEW_YORK,
    ONE_MINUTE,
    ONE_SECOND,
    SETTINGS,
    SYDNEY,
    ZONES,
    cron,
    daily,
    parse,
    utc,
    wall,
)

# --- reference model for property-based tests --------------------------------
# An independent reading of DESIGN.md's schedule table, used to check the
# engine: a document's terms are matched against a naive wall time, and the
# brute-force walk below applies the DST rules minute by minute.

_MONTH_NAMES = [m.lower() for m in calendar.month_abbr[1:]]
_DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_REFERENCE_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# (low, high, names) per cron field; day-of-week allows 7 for Sunday.
_CRON_BOUNDS: tuple[tuple[int, int, list[str]], ...] = (
    (0, 59, []),
    (0, 23, []),
    (1, 31, []),
    (1, 12, _MONTH_NAMES),
    (0, 7, _DAY_NAMES),
)


def _cron_number(text: str, names: list[str], low: int) -> int:
    return names.index(text) + low if text in names else int(text)


@functools.cache
def _cron_values(text: str, index: int) -> frozenset[int]:
    """Expand one cron field of the generated subset into its values."""
    low, high, names = _CRON_BOUNDS[index]
    values: set[int] = set()
    for part in text.lower().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, stop = low, high
        elif "-" in base:
            first, last = base.split("-")
            start, stop = (
                _cron_number(first, names, low),
                _cron_number(last, names, low),
            )
        else:
            start = stop = _cron_number(base, names, low)
        if start <= stop:
            values.update(range(start, stop + 1, step))
        else:  # a range that wraps past the field's end
            values.update([*range(start, high + 1), *range(low, stop + 1)][::step])
    if index == 4 and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


@functools.cache
def _cron_fields(expression: str) -> tuple[str, ...]:
    text = " ".join(expression.split())
    return tuple(_REFERENCE_ALIASES.get(text.lower(), text).split(" "))


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def reference_matches(document: dict[str, Any], at: datetime) -> bool:
    """Return True if naive wall time `at` is one of the document's times."""
    kind = document["type"]
    if kind == "hourly":
        return at.minute == int(document["minute"])
    if kind == "cron":
        fields = _cron_fields(document["expression"])
        minutes, hours, month_days, months, weekdays = (
            _cron_values(field, index) for index, field in enumerate(fields)
        )
        dom = at.day in month_days
        dow = at.isoweekday() % 7 in weekdays
        either = not fields[2].startswith("*") and not fields[4].startswith("*")
        return (
            at.minute in minutes
            and at.hour in hours
            and at.month in months
            and ((dom or dow) if either else (dom and dow))
        )
    hour, minute = (int(part) for part in document["time"].split(":"))
    if (at.hour, at.minute) != (hour, minute):
        return False
    if kind == "daily":
        return True
    if kind == "weekly":
        return _WEEKDAYS[at.weekday()] in document["weekdays"]
    if kind == "yearly" and at.month != int(document["month"]):
        return False
    last = _last_day(at.year, at.month)
    day = document["day"]
    return at.day == (last if day == "last" else min(int(day), last))


def reference_is_wildcard(document: dict[str, Any]) -> bool:
    """Return True for schedules following the wildcard DST rule."""
    if document["type"] == "hourly":
        return True
    if document["type"] == "cron":
        minute, hour = _cron_fields(document["expression"])[:2]
        return minute.startswith("*") or hour.startswith("*")
    return False


def reference_never_fires(expression: str) -> bool:
    """Return True if a cron expression's day fields can never both match."""
    fields = _cron_fields(expression)
    if not fields[2].startswith("*") and not fields[4].startswith("*"):
        return False  # either field may match, and every weekday occurs
    month_days, months = _cron_values(fields[2], 2), _cron_values(fields[3], 3)
    longest = {m: 29 if m == 2 else _last_day(2001, m) for m in months}
    return not any(d <= longest[m] for m in months for d in month_days)


def reference_fires(
    document: dict[str, Any], zone: ZoneInfo, after: datetime, end: datetime
) -> list[tuple[datetime, datetime | None]]:
    """Walk UTC minute by minute in (after, end) applying DESIGN.md's rules.

    Return (instant, moved_from) pairs. Zones here change offset only on whole
    minutes, so every wall time a gap skips lies between two consecutive
    minutes' wall times.
    """
    wildcard = reference_is_wildcard(document)
    at = after.replace(second=0, microsecond=0) + ONE_MINUTE
    previous = (at - ONE_MINUTE).astimezone(zone).replace(tzinfo=None)
    result: list[tuple[datetime, datetime | None]] = []
    while at < end:
        local = at.astimezone(zone)
        current = local.replace(tzinfo=None)
        if wildcard:
            if reference_matches(document, current):
                result.append((at, None))
        else:
            skipped = _walls_between(previous, current)
            moved = next((w for w in skipped if reference_matches(document, w)), None)
            if moved is not None:
                result.append((at, moved))
            elif local.fold == 0 and reference_matches(document, current):
                result.append((at, None))
        previous = current
        at += ONE_MINUTE
    return result


def _walls_between(previous: datetime, current: datetime) -> Iterator[datetime]:
    """Yield the whole-minute wall times strictly between the two."""
    candidate = previous + ONE_MINUTE
    while candidate < current:
        yield candidate
        candidate += ONE_MINUTE


def engine_fires(
    schedule: Schedule, after: datetime, end: datetime, limit: int = 10_000
) -> list[tuple[datetime, datetime | None]]:
    """Return the engine's first `limit` (instant, moved_from) pairs in (after, end)."""
    result: list[tuple[datetime, datetime | None]] = []
    cursor = after
    while (
        len(result) < limit
        and (fire := schedule.next_after(cursor)) is not None
        and fire.at < end
    ):
        result.append((fire.at, fire.moved_from))
        cursor = fire.at
    return result


@functools.cache
def offset_changes(zone_name: str, year: int) -> tuple[datetime, ...]:
    """Return the UTC instants in `year` at which the zone's offset changes."""
    zone = ZoneInfo(zone_name)
    step = timedelta(hours=6)
    changes = []
    at = utc(year, 1, 1)
    while at.year == year:
        if at.astimezone(zone).utcoffset() != (at + step).astimezone(zone).utcoffset():
            low, high = at, at + step
            while high - low > ONE_MINUTE:
                middle = low + ONE_MINUTE * ((high - low) // ONE_MINUTE // 2)
                before = (
                    middle.astimezone(zone).utcoffset()
                    == low.astimezone(zone).utcoffset()
                )
                low, high = (middle, high) if before else (low, middle)
            changes.append(high)
        at += step
    return tuple(changes)


# --- strategies ----------------------------------------------------------------

WALL_KINDS = ("hourly", "daily", "weekly", "monthly", "yearly", "cron")
AFTERS = st.datetimes(
    min_value=datetime(1990, 1, 1),  # noqa: DTZ001 - bounds for aware values
    max_value=datetime(2060, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@st.composite
def near_values(
    draw: st.DrawFn, anything: st.SearchStrategy[int], near: list[int]
) -> int:
    """Draw a value, often one of `near` (close to a DST change)."""
    if bool(near) and draw(st.booleans()):
        return draw(st.sampled_from(near))
    return draw(anything)


@st.composite
def cron_field(
    draw: st.DrawFn,
    index: int,
    near: list[int],
    steps: list[int],
    *,
    allow_star: bool = True,
    max_width: int = 5,
) -> str:
    """Draw one cron field: '*', '*/k', a list, a range, or a stepped range."""
    low, high, names = _CRON_BOUNDS[index]
    value = near_values(st.integers(low, high), near)

    def spell(number: int) -> str:
        if names and number - low < len(names) and draw(st.booleans()):
            name = names[number - low]
            return draw(st.sampled_from([name, name.upper(), name.title()]))
        return str(number)

    # No backwards ranges ("22-1"): the engine refuses them, as ISC cron does.
    form = draw(st.sampled_from(["star", "step", "list", "range", "ranged"]))
    if form == "star" and allow_star:
        return "*"
    if form == "step":
        return f"*/{draw(st.sampled_from(steps))}"
    if form in ("range", "ranged"):
        start = draw(value)
        width = draw(st.integers(1, max_width))
        stop = min(start + width, high)
        if form == "ranged":
            return f"{start}-{stop}/{draw(st.integers(1, 3))}"
        return f"{spell(start)}-{spell(stop)}"
    items = draw(st.lists(value, min_size=1, max_size=3))
    return ",".join(spell(item) for item in items)


@st.composite
def wall_documents(
    draw: st.DrawFn,
    near: datetime | None = None,
    *,
    sparse: bool = False,
    kinds: tuple[str, ...] = WALL_KINDS,
) -> dict[str, Any]:
    """Draw a valid wall-clock document, biased to wall times near `near`.

    With `sparse`, cron minute fields fire at most a few times an hour so that
    a brute-force walk over a day stays fast.
    """
    walls = [near - ONE_MINUTE, near] if near is not None else []
    hours = sorted({h for w in walls for h in (w.hour, (w.hour + 1) % 24)})
    minutes = sorted({0, 15, 30, 45, *(w.minute for w in walls)})
    minutes += [(walls[0].minute + 1) % 60] if walls else []
    days = sorted({w.day for w in walls})
    months = sorted({w.month for w in walls})
    weekdays = sorted({_WEEKDAYS[w.weekday()] for w in walls})
    hour = draw(near_values(st.integers(0, 23), hours))
    minute = draw(near_values(st.integers(0, 59), minutes))
    at = f"{hour:02d}:{minute:02d}"
    # Half of the documents are cron, the richest kind.
    kind = draw(
        st.sampled_from(kinds) | st.just("cron")
        if "cron" in kinds
        else st.sampled_from(kinds)
    )
    if kind == "hourly":
        return {"type": "hourly", "minute": minute}
    if kind == "daily":
        return {"type": "daily", "time": at}
    if kind == "weekly":
        chosen = draw(st.lists(st.sampled_from(_WEEKDAYS), min_size=1, max_size=3))
        return {"type": "weekly", "weekdays": sorted({*chosen, *weekdays}), "time": at}
    if kind == "monthly":
        day = draw(near_values(st.integers(1, 31), days) | st.just("last"))
        return {"type": "monthly", "day": day, "time": at}
    if kind == "yearly":
        month = draw(near_values(st.integers(1, 12), months))
        longest = 29 if month == 2 else _last_day(2001, month)
        day = draw(near_values(st.integers(1, longest), days) | st.just("last"))
        if isinstance(day, int) and day > longest:
            day = longest
        return {"type": "yearly", "month": month, "day": day, "time": at}
    dow_near = [(w.isoweekday() % 7) for w in walls]
    fields = [
        draw(
            cron_field(
                0,
                minutes,
                [10, 15, 20, 30] if sparse else [1, 5, 7, 20, 30],
                allow_star=not sparse,
                max_width=3,
            )
        ),
        draw(cron_field(1, hours, [1, 2, 3, 5, 12])),
        draw(cron_field(2, days, [1, 2, 3, 10])),
        draw(cron_field(3, months, [1, 2, 3, 6])),
        draw(cron_field(4, dow_near, [1, 2, 3, 5, 7])),
    ]
    return cron(" ".join(fields))


def parse_or_skip(document: dict[str, Any], zone_name: str) -> Schedule:
    """Parse a generated document; skip cron that the reference says never fires."""
    if document["type"] == "cron" and reference_never_fires(document["expression"]):
        with pytest.raises(ScheduleError) as caught:
            parse(document, zone_name)
        assert caught.value.message == MSG_CRON_NEVER.format(
            value=document["expression"]
        )
        assume(False)
    return parse(document, zone_name)


def local_view(moment: datetime) -> tuple[datetime, int, timedelta | None, str]:
    """Return what identifies a local time: wall time, fold, offset and zone."""
    return (
        moment.replace(tzinfo=None),
        moment.fold,
        moment.utcoffset(),
        str(moment.tzinfo),
    )


# --- property-based tests ------------------------------------------------------


@settings(SETTINGS, max_examples=250)
@given(
    document=wall_documents(),
    zone_name=st.sampled_from(ZONES),
    after=AFTERS,
)
def test_wall_clock_fire_times_obey_the_rules(
    document: dict[str, Any], zone_name: str, after: datetime
) -> None:
    """Fire times increase, are UTC, match the terms and respect the DST rules."""
    schedule = parse_or_skip(document, zone_name)
    zone = ZoneInfo(zone_name)
    fires = schedule.fire_times(after, 6)
    assert len(fires) == 6
    instants = [fire.at for fire in fires]
    assert instants[0] > after
    assert all(a < b for a, b in itertools.pairwise(instants))
    for fire in fires:
        assert fire.at.tzinfo is UTC
        assert local_view(fire.local) == local_view(fire.at.astimezone(zone))
        round_trip = fire.local.replace(tzinfo=None).replace(
            tzinfo=zone, fold=fire.local.fold
        )
        assert round_trip.astimezone(UTC) == fire.at
        wall_time = fire.local.replace(tzinfo=None)
        if schedule.is_wildcard or fire.moved_from is None:
            assert fire.moved_from is None
            assert reference_matches(document, wall_time)
        else:
            assert reference_matches(document, fire.moved_from)
            before = (fire.at - ONE_SECOND).astimezone(zone)
            assert before.utcoffset() != fire.local.utcoffset()
            assert before.replace(tzinfo=None) < fire.moved_from < wall_time
        if not schedule.is_wildcard and fire.moved_from is None:
            assert fire.local.fold == 0
    assert schedule.is_wildcard is reference_is_wildcard(document)
    if not schedule.is_wildcard:
        walls = [fire.local.replace(tzinfo=None) for fire in fires]
        assert len(set(walls)) == len(walls)


@settings(SETTINGS, max_examples=100)
@given(
    seconds=st.integers(1, 3 * 86_400) | st.sampled_from([3600, 5400, 86_400]),
    zone_name=st.sampled_from(ZONES),
    after=AFTERS,
)
def test_interval_fires_every_n_elapsed_seconds(
    seconds: int, zone_name: str, after: datetime
) -> None:
    """Interval fires are epoch-aligned and exactly `seconds` apart in any zone."""
    fires = parse({"type": "interval", "seconds": seconds}, zone_name).fire_times(
        after, 4
    )
    instants = [fire.at for fire in fires]
    assert after < instants[0] <= after + timedelta(seconds=seconds)
    assert (instants[0] - EPOCH) % timedelta(seconds=seconds) == timedelta(0)
    assert [b - a for a, b in itertools.pairwise(instants)] == [
        timedelta(seconds=seconds)
    ] * 3
    for fire in fires:
        assert fire.at.tzinfo is UTC
        assert fire.moved_from is None
        assert local_view(fire.local) == local_view(
            fire.at.astimezone(ZoneInfo(zone_name))
        )


@st.composite
def dst_windows(draw: st.DrawFn) -> tuple[str, datetime, datetime, datetime]:
    """Draw (zone, anchor, after, end): mostly a window around an offset change."""
    zone_name = draw(st.sampled_from(ZONES))
    year = draw(st.integers(1990, 2060))
    changes = offset_changes(zone_name, year)
    if changes and draw(st.integers(0, 9)) > 0:
        anchor = draw(st.sampled_from(changes))
    else:
        anchor = utc(year, 1, 1) + ONE_MINUTE * draw(st.integers(0, 364 * 24 * 60))
    after = anchor - timedelta(
        seconds=draw(st.integers(0, 8 * 3600)),
        microseconds=draw(st.integers(0, 999_999)),
    )
    end = anchor + timedelta(hours=draw(st.integers(1, 8)))
    return zone_name, anchor, after, end


@settings(SETTINGS, max_examples=200)
@given(data=st.data())
def test_engine_matches_brute_force_reference_around_dst(data: st.DataObject) -> None:
    """Over windows around DST changes the engine equals a minute-by-minute walk."""
    zone_name, anchor, after, end = data.draw(dst_windows())
    zone = ZoneInfo(zone_name)
    near = anchor.astimezone(zone).replace(tzinfo=None)
    document = data.draw(wall_documents(near, sparse=True))
    schedule = parse_or_skip(document, zone_name)
    fires = engine_fires(schedule, after, end, limit=60)
    if len(fires) == 60:  # keep dense schedules cheap: compare up to the 60th
        end = fires[-1][0] + ONE_SECOND
    assert fires == reference_fires(document, zone, after, end)


@pytest.mark.parametrize(
    ("zone_name", "year"),
    [
        (NEW_YORK, 2026),
        (LONDON, 2026),
        (SYDNEY, 2026),
        (LORD_HOWE, 2026),
        ("America/St_Johns", 2000),
        ("America/Sao_Paulo", 2018),
        ("Pacific/Chatham", 2026),
    ],
)
@pytest.mark.parametrize(
    "document",
    [
        daily("02:30"),
        daily("01:30"),
        {"type": "hourly", "minute": 15},
        {"type": "hourly", "minute": 45},
        cron("*/20 * * * *"),
        cron("0,30 0-3 * * *"),
        cron("15 */2 * * *"),
    ],
    ids=["daily-0230", "daily-0130", "hourly-15", "hourly-45", "c1", "c2", "c3"],
)
def test_engine_matches_brute_force_on_every_change_of_year(
    zone_name: str, year: int, document: dict[str, Any]
) -> None:
    """Across each of a year's offset changes, engine and reference agree."""
    zone = ZoneInfo(zone_name)
    schedule = parse(document, zone_name)
    changes = offset_changes(zone_name, year)
    assert len(changes) == 2
    for change in changes:
        after, end = change - timedelta(hours=10), change + timedelta(hours=10)
        assert engine_fires(schedule, after, end) == reference_fires(
            document, zone, after, end
        )


def test_offset_changes_helper_finds_new_york_2026() -> None:
    """The test helper finds New York's 2026 changes at the exact UTC minutes."""
    assert offset_changes(NEW_YORK, 2026) == (utc(2026, 3, 8, 7), utc(2026, 11, 1, 6))


def test_reference_agrees_with_hand_computed_gap() -> None:
    """The reference walk moves a gap time like the hand-written examples."""
    fires = reference_fires(
        daily("02:30"), ZoneInfo(NEW_YORK), utc(2026, 3, 7, 12), utc(2026, 3, 9, 12)
    )
    assert fires == [
        (utc(2026, 3, 8, 7), wall(2026, 3, 8, 2, 30)),
        (utc(2026, 3, 9, 6, 30), None),
    ]


@settings(SETTINGS, max_examples=100)
@given(data=st.data())
def test_cron_day_rules_match_reference_over_two_years(data: st.DataObject) -> None:
    """Cron at 00:00 UTC fires on exactly the days the reference selects."""
    document = data.draw(wall_documents(kinds=("cron",)))
    fields = _cron_fields(document["expression"])
    document = cron(" ".join(["0", "0", *fields[2:]]))
    schedule = parse_or_skip(document, "UTC")
    start, end = utc(2026, 1, 1), utc(2028, 1, 1)
    expected: list[tuple[datetime, datetime | None]] = []
    day = start
    while day < end:
        if reference_matches(document, day.replace(tzinfo=None)):
            expected.append((day, None))
        day += timedelta(days=1)
    assert engine_fires(schedule, start - ONE_SECOND, end) == expected
