"""The slot timeline (pure): engine slots merged with run rows, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs import schedule as engine
from jobs import timeline
from jobs.timeline import RunRow, Slot, build_timeline

NEW_YORK = "America/New_York"


def slots(document: dict[str, object], after: datetime, count: int) -> list[Slot]:
    """Return the engine's next `count` fire instants as timeline slots."""
    schedule = engine.parse_schedule(document, default_timezone=NEW_YORK)
    return [
        Slot(at=f.at, local=f.local, moved_from=f.moved_from)
        for f in schedule.fire_times(after, count)
    ]


def run(
    at: datetime,
    status: str,
    *,
    attempt: int = 1,
    code: str = "",
    reason: str = "",
    late: float | None = None,
    took: float | None = None,
    run_id: int = 1,
) -> RunRow:
    """Return a run row of slot `at`."""
    started = at + timedelta(seconds=late) if late is not None else None
    finished = started + timedelta(seconds=took) if started and took else None
    return RunRow(
        run_id=run_id,
        scheduled_for=at,
        attempt=attempt,
        status=status,
        trigger="schedule",
        reason=reason,
        reason_code=code,
        not_before=at,
        started_at=started,
        finished_at=finished,
    )


SPRING = datetime(2026, 3, 7, tzinfo=UTC)
AT_07 = datetime(2026, 3, 7, 7, 30, tzinfo=UTC)
AT_08 = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
AT_09 = datetime(2026, 3, 9, 6, 30, tzinfo=UTC)


def test_daily_slots_across_spring_forward_with_each_outcome() -> None:
    """02:30 New York: ran, skipped by a blackout (03:00 EDT, moved), missing."""
    found = slots({"type": "daily", "time": "02:30"}, SPRING, 3)
    assert [s.at for s in found] == [AT_07, AT_08, AT_09]
    entries = build_timeline(
        slots=found,
        runs=[
            run(AT_07, "succeeded", late=2, took=30),
            run(AT_08, "skipped", code="blackout", reason="Inside blackout 'Easter'."),
        ],
        now=datetime(2026, 3, 10, tzinfo=UTC),
        grace_seconds=60,
    )
    assert [(e.at, e.outcome, e.reason_code) for e in entries] == [
        (AT_07, "succeeded", ""),
        (AT_08, "skipped", "blackout"),
        (AT_09, timeline.MISSING, ""),
    ]
    assert entries[0].lateness_seconds == 2.0
    assert entries[0].duration_seconds == 30.0
    assert entries[1].moved_from is not None
    assert entries[1].moved_from.hour == 2
    assert entries[1].local is not None
    assert entries[1].local.hour == 3
    assert entries[1].explanation == "Inside blackout 'Easter'."
    assert entries[2].explanation == timeline.EXPLANATIONS[timeline.MISSING]
    assert [e.can_run_now for e in entries] == [False, True, True]


def test_hourly_slots_in_the_fall_back_hour_are_two_instants() -> None:
    """01:30 happens twice on 2026-11-01 in New York: two slots, an hour apart."""
    found = slots(
        {"type": "hourly", "minute": 30}, datetime(2026, 11, 1, 5, tzinfo=UTC), 2
    )
    first, second = (s.at for s in found)
    entries = build_timeline(
        slots=found,
        runs=[run(first, "succeeded", late=0, took=1)],
        now=datetime(2026, 11, 1, 6, 31, tzinfo=UTC),
        grace_seconds=120,
    )
    assert [
        (e.local and e.local.hour, e.local and e.local.fold, e.outcome) for e in entries
    ] == [
        (1, 0, "succeeded"),
        (1, 1, timeline.UPCOMING),
    ]
    assert second - first == timedelta(hours=1)


def test_folded_slots_and_retries_take_the_latest_attempt() -> None:
    """A folded slot says so; a retried slot shows its last attempt."""
    entries = build_timeline(
        slots=[Slot(at=AT_07, local=AT_07), Slot(at=AT_08, local=AT_08)],
        runs=[
            run(AT_07, "skipped", code="misfire_folded", reason="folded", run_id=1),
            run(AT_08, "failed", code="exit_code", run_id=2),
            run(AT_08, "running", attempt=2, run_id=3),
        ],
        now=AT_09,
        grace_seconds=60,
    )
    assert [(e.outcome, e.latest.run_id if e.latest else None) for e in entries] == [
        (timeline.FOLDED, 1),
        ("running", 3),
    ]
    assert entries[0].explanation == timeline.EXPLANATIONS[timeline.FOLDED]
    assert entries[1].can_run_now is False


def test_runs_off_the_schedule_are_listed_as_not_scheduled() -> None:
    """A manual run between slots shows up, marked as such."""
    manual = AT_07 + timedelta(hours=3)
    entries = build_timeline(
        slots=[Slot(at=AT_07, local=AT_07)],
        runs=[run(manual, "succeeded")],
        now=AT_09,
        grace_seconds=60,
    )
    assert [(e.at, e.is_scheduled, e.outcome) for e in entries] == [
        (AT_07, True, timeline.MISSING),
        (manual, False, "succeeded"),
    ]


def test_slots_before_the_job_existed_and_within_grace() -> None:
    """Before creation: before_job; just past but within grace: upcoming."""
    entries = build_timeline(
        slots=[Slot(at=AT_07, local=AT_07), Slot(at=AT_08, local=AT_08)],
        runs=[],
        now=AT_08 + timedelta(seconds=30),
        grace_seconds=60,
        created_at=AT_07 + timedelta(hours=1),
    )
    assert [e.outcome for e in entries] == [timeline.BEFORE_JOB, timeline.UPCOMING]
    assert [e.can_run_now for e in entries] == [False, False]
