"""Interval "start" and one-off ("once") schedules in `jobs.schedule`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.schedule import (
    MSG_AT,
    MSG_START,
    ScheduleError,
    anchored,
    interval_starts_stamp,
    merged_fire_times,
    next_fire,
)
from jobs.schedule_text import describe_schedule
from jobs.tests.schedule_helpers import (
    HONG_KONG,
    LONDON,
    NEW_YORK,
    SETTINGS,
    fire_ats,
    parse,
    utc,
)

DAY = 86400

# --- interval start --------------------------------------------------------------


def test_a_24h_interval_created_at_14_10_in_hong_kong_fires_at_14_10() -> None:
    """The issue's case: the phase is the start's, not the Unix epoch's."""
    document = {"type": "interval", "seconds": DAY, "start": "2026-03-01T14:10+08:00"}
    fires = parse(document, HONG_KONG).fire_times(utc(2026, 3, 1, 7), 3)
    assert [fire.local.strftime("%d %H:%M") for fire in fires] == [
        "02 14:10",
        "03 14:10",
        "04 14:10",
    ]


def test_start_is_normalised_to_utc_with_z() -> None:
    """Any offset reads as the same instant; the document keeps it in UTC."""
    for text in (
        "2026-03-01T14:10:00+08:00",
        "2026-03-01T06:10Z",
        "2026-03-01 06:10:00+0000",
    ):
        document = parse({"type": "interval", "seconds": 60, "start": text}).document
        assert document["start"] == "2026-03-01T06:10:00Z"


def test_nothing_fires_before_the_start() -> None:
    """Asked before the start, the first fire is the start itself."""
    document = {"type": "interval", "seconds": 3600, "start": "2026-05-01T00:00:00Z"}
    assert fire_ats(document, utc(2026, 1, 1), 2) == [
        utc(2026, 5, 1),
        utc(2026, 5, 1, 1),
    ]


@pytest.mark.parametrize(
    "start",
    ["2026-03-01T14:10", "tomorrow", "2026-02-30T00:00Z", 5, "2026-03-01T25:00Z"],
)
def test_a_bad_start_is_refused_naming_the_field(start: object) -> None:
    """No offset, not a date, or not an instant at all: "start" is named."""
    with pytest.raises(ScheduleError) as caught:
        parse({"type": "interval", "seconds": 60, "start": start})
    assert caught.value.field == "start"
    assert caught.value.message == MSG_START.format(value=start)


def test_an_interval_without_start_counts_from_the_epoch() -> None:
    """Documents stored before "start" existed keep their phase."""
    assert fire_ats({"type": "interval", "seconds": 5400}, utc(2026, 1, 1), 1) == [
        utc(2026, 1, 1, 1, 30)
    ]


def test_anchored_counts_an_unanchored_interval_from_the_given_instant() -> None:
    """The preview's rule: the first fire is `after` + seconds."""
    after = datetime(2026, 3, 1, 6, 10, 7, tzinfo=UTC)
    schedule = anchored(parse({"type": "interval", "seconds": 600}), after)
    assert [f.at for f in schedule.fire_times(after, 2)] == [
        after + timedelta(seconds=600),
        after + timedelta(seconds=1200),
    ]
    daily = parse({"type": "daily", "time": "09:00"})
    assert anchored(daily, after) is daily


def test_stamping_fills_in_now_and_keeps_a_previous_start() -> None:
    """A new interval starts now; one whose length is unchanged keeps its start."""
    now = datetime(2026, 3, 1, 6, 10, tzinfo=UTC)
    previous = [{"type": "interval", "seconds": 60, "start": "2020-01-01T00:00:00Z"}]
    stamped = interval_starts_stamp(
        [
            {"type": "interval", "seconds": 60},
            {"type": "interval", "seconds": 120},
            {"type": "daily", "time": "09:00"},
            {"type": "interval", "seconds": 60, "start": "2026-01-01T00:00:00Z"},
        ],
        previous=previous,
        now=now,
    )
    assert [d.get("start") for d in stamped] == [
        "2020-01-01T00:00:00Z",
        "2026-03-01T06:10:00Z",
        None,
        "2026-01-01T00:00:00Z",
    ]


@SETTINGS
@given(
    start=st.integers(min_value=0, max_value=40 * 366 * DAY).map(
        lambda s: datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=s)
    ),
    seconds=st.integers(min_value=1, max_value=40 * DAY),
    offset=st.integers(min_value=-1000 * DAY, max_value=1000 * DAY),
)
def test_every_fire_is_start_plus_a_whole_number_of_intervals(
    start: datetime, seconds: int, offset: int
) -> None:
    """Fires are start + k * seconds, k >= 0, the first strictly after `after`."""
    text = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    schedule = parse({"type": "interval", "seconds": seconds, "start": text}, NEW_YORK)
    after = start + timedelta(seconds=offset)
    fire = schedule.next_after(after)
    assert fire is not None
    steps, rest = divmod((fire.at - start) // timedelta(seconds=1), seconds)
    assert rest == 0
    assert steps >= 0
    assert fire.at > after
    assert fire.at == start or fire.at - timedelta(seconds=seconds) <= after


# --- once ------------------------------------------------------------------------


def test_once_fires_once_at_its_wall_clock_time() -> None:
    """Christmas Eve 09:00 in London is 09:00 UTC; nothing after it."""
    schedule = parse({"type": "once", "at": "2026-12-24T09:00"}, LONDON)
    assert [f.at for f in schedule.fire_times(utc(2026, 1, 1), 3)] == [
        utc(2026, 12, 24, 9)
    ]
    assert schedule.next_after(utc(2026, 12, 24, 9)) is None


def test_once_in_a_dst_gap_fires_at_the_first_instant_after() -> None:
    """02:30 on New York's spring-forward day does not exist: 03:00 EDT."""
    fire = parse({"type": "once", "at": "2026-03-08T02:30"}, NEW_YORK).next_after(
        utc(2026, 1, 1)
    )
    assert fire is not None
    assert fire.at == utc(2026, 3, 8, 7)
    assert fire.moved_from == datetime(2026, 3, 8, 2, 30)  # noqa: DTZ001


def test_once_in_a_fold_takes_the_first_occurrence() -> None:
    """01:30 on New York's fall-back day happens twice: the EDT one."""
    fire = parse({"type": "once", "at": "2026-11-01T01:30"}, NEW_YORK).next_after(
        utc(2026, 1, 1)
    )
    assert fire is not None
    assert fire.at == utc(2026, 11, 1, 5, 30)


def test_only_past_once_schedules_give_no_next_run() -> None:
    """A job left with spent one-offs has nothing to fire."""
    schedules = [
        parse({"type": "once", "at": "2026-01-01T09:00"}, HONG_KONG),
        parse({"type": "once", "at": "2026-02-01T09:00"}, HONG_KONG),
    ]
    assert next_fire(schedules, utc(2026, 3, 1)) is None
    assert [f.at for f in merged_fire_times(schedules, utc(2025, 1, 1), 5)] == [
        utc(2026, 1, 1, 1),
        utc(2026, 2, 1, 1),
    ]


@pytest.mark.parametrize(
    "at",
    [
        "2026-12-24T09:00Z",
        "2026-12-24T09:00+01:00",
        "24/12/2026 09:00",
        "2026-13-01T00:00",
        None,
        5,
    ],
)
def test_a_bad_at_is_refused_naming_the_field(at: object) -> None:
    """An offset, another format or an impossible date: "at" is named."""
    with pytest.raises(ScheduleError) as caught:
        parse({"type": "once", "at": at})
    assert caught.value.field == "at"


def test_once_is_normalised_and_described() -> None:
    """Seconds kept only when given; the words show the zone."""
    assert parse({"type": "once", "at": "2026-12-24 09:00:00"}).document == {
        "type": "once",
        "at": "2026-12-24T09:00",
    }
    assert (
        describe_schedule({"type": "once", "at": "2026-12-24T09:00"}, timezone=LONDON)
        == "Once on 2026-12-24 at 09:00 (Europe/London)"
    )
    assert MSG_AT.format(value="x").startswith("Must be a local date and time")


def test_an_interval_with_start_is_described_in_its_zone() -> None:
    """The start shows in the schedule's zone."""
    document = {"type": "interval", "seconds": DAY, "start": "2026-03-01T06:10:00Z"}
    assert describe_schedule(document, timezone=HONG_KONG) == (
        "Every 24 hours from 2026-03-01 14:10:00 (Asia/Hong_Kong)"
    )
