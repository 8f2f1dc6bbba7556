"""Due slots inside blackout windows: skipped naming the window, or deferred."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest

from jobs.models import BlackoutCalendar, BlackoutWindow, Job, JobRun
from jobs.services.blackouts import blackout_calendar_save
from jobs.tests.conftest import FakeClock
from jobs.worker import WorkerLoop

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAILY_0230_NY = {"type": "daily", "time": "02:30", "timezone": "America/New_York"}


def minute(n: int) -> datetime:
    """Return T0 plus `n` minutes."""
    return T0 + timedelta(minutes=n)


def make_calendar(
    name: str,
    *windows: BlackoutWindow,
    zone: str = "UTC",
    is_global: bool = False,
) -> BlackoutCalendar:
    """Save a calendar with `windows` through the service."""
    return blackout_calendar_save(
        calendar=BlackoutCalendar(name=name, timezone=zone, is_global=is_global),
        windows=list(windows),
        now=T0,
    )


def one_off(start: datetime, end: datetime, label: str = "deploy") -> BlackoutWindow:
    """Return an unsaved one-off window."""
    return BlackoutWindow(
        kind=BlackoutWindow.Kind.ONE_OFF, label=label, starts_at=start, ends_at=end
    )


def records(job: Job) -> list[tuple[datetime, str, str, datetime]]:
    """Return (slot, status, reason code, not_before) of the job's runs."""
    runs = JobRun.objects.filter(job=job).order_by("scheduled_for")
    return list(
        runs.values_list("scheduled_for", "status", "reason_code", "not_before")
    )


def test_a_slot_inside_a_window_is_skipped_naming_the_window(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Reason code blackout, and the reason names calendar and window."""
    job = make_job(at=T0)
    job.blackout_calendars.set([make_calendar("ops", one_off(minute(2), minute(4)))])
    clock.now = minute(3)
    loop.schedule_due_slots()
    assert records(job) == [
        (minute(1), JobRun.Status.QUEUED, "", minute(1)),
        (minute(2), JobRun.Status.SKIPPED, JobRun.ReasonCode.BLACKOUT, minute(2)),
        (minute(3), JobRun.Status.SKIPPED, JobRun.ReasonCode.BLACKOUT, minute(3)),
    ]
    run = JobRun.objects.get(job=job, scheduled_for=minute(2))
    assert run.reason == (
        "Inside blackout window 'ops: deploy' (until 2026-03-01 00:04 UTC)."
    )


def test_a_global_calendar_applies_to_every_job(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """A job that names no calendar still avoids a global one's windows."""
    job = make_job(at=T0)
    make_calendar("freeze", one_off(minute(1), minute(2)), is_global=True)
    clock.now = minute(1)
    loop.schedule_due_slots()
    assert records(job) == [
        (minute(1), JobRun.Status.SKIPPED, JobRun.ReasonCode.BLACKOUT, minute(1))
    ]


def test_another_jobs_calendar_does_not_apply(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Calendars attached to one job leave the others alone."""
    guarded = make_job("guarded", at=T0)
    free = make_job("free", at=T0)
    guarded.blackout_calendars.set(
        [make_calendar("ops", one_off(minute(1), minute(2)))]
    )
    clock.now = minute(1)
    loop.schedule_due_slots()
    assert records(guarded)[0][1] == JobRun.Status.SKIPPED
    assert records(free) == [(minute(1), JobRun.Status.QUEUED, "", minute(1))]


def test_defer_queues_the_slot_to_start_at_the_windows_end_once(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """One run waits for 00:05; later slots in the window, step after step, skip."""
    job = make_job(at=T0, blackout_action=Job.BlackoutAction.DEFER)
    job.blackout_calendars.set([make_calendar("ops", one_off(minute(2), minute(5)))])
    for step in (2, 3, 4):
        clock.now = minute(step)
        loop.schedule_due_slots()
    assert records(job)[1:] == [
        (minute(2), JobRun.Status.QUEUED, "", minute(5)),
        (minute(3), JobRun.Status.SKIPPED, JobRun.ReasonCode.BLACKOUT, minute(3)),
        (minute(4), JobRun.Status.SKIPPED, JobRun.ReasonCode.BLACKOUT, minute(4)),
    ]


def test_defer_run_is_not_claimed_before_the_windows_end(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """The worker leaves the deferred run queued until the window ends."""
    job = make_job(
        at=T0,
        blackout_action=Job.BlackoutAction.DEFER,
        schedules=[{"type": "interval", "seconds": 600}],
    )
    job.blackout_calendars.set([make_calendar("ops", one_off(minute(5), minute(15)))])
    clock.now = minute(10)
    loop.schedule_due_slots()
    assert loop.claim_runs(5) == []
    clock.now = minute(15)
    claimed = loop.claim_runs(5)
    assert [run.scheduled_for for run in claimed] == [minute(10)]


def sunday_window(start: time, end: time) -> BlackoutWindow:
    """Return an unsaved weekly window on Sundays."""
    return BlackoutWindow(
        kind=BlackoutWindow.Kind.WEEKLY,
        weekday=BlackoutWindow.Weekday.SUN,
        start_time=start,
        end_time=end,
    )


def slot_outcome(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    *,
    schedule: dict[str, object],
    window: BlackoutWindow,
    slots: list[datetime],
) -> list[tuple[datetime, str]]:
    """Record a New York job's `slots`, each at its instant."""
    zone = "America/New_York"
    start = slots[0] - timedelta(minutes=1)
    job = make_job(at=start, schedules=[schedule], timezone=zone)
    job.blackout_calendars.set([make_calendar("nights", window, zone=zone)])
    for slot in slots:
        clock.now = slot
        loop.schedule_due_slots()
    return [(at, status) for at, status, _, _ in records(job)]


@pytest.mark.parametrize(
    ("slot", "status"),
    [
        # An ordinary Sunday: 02:30 EST is inside 02:00-02:45.
        (datetime(2026, 3, 1, 7, 30, tzinfo=UTC), JobRun.Status.SKIPPED),
        # 8 March 2026, spring forward: 02:00-02:45 never happens, so the
        # window is empty, and the slot moved to 03:00 EDT runs.
        (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), JobRun.Status.QUEUED),
    ],
)
def test_a_window_inside_the_spring_forward_gap_is_empty(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    slot: datetime,
    status: str,
) -> None:
    """Daily 02:30 New York against Sunday 02:00-02:45 New York."""
    outcome = slot_outcome(
        make_job,
        loop,
        clock,
        schedule={"type": "daily", "time": "02:30"},
        window=sunday_window(time(2, 0), time(2, 45)),
        slots=[slot],
    )
    assert outcome == [(slot, status)]


def test_a_window_on_the_fall_back_night_holds_the_first_of_the_repeated_times(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Hourly at :30 against Sunday 01:00-01:45 on 1 November 2026.

    01:30 happens twice; the window is the first 01:00-01:45 (EDT), so the
    01:30 EDT slot is skipped and the 01:30 EST slot an hour later runs.
    """
    first, second = (datetime(2026, 11, 1, h, 30, tzinfo=UTC) for h in (5, 6))
    outcome = slot_outcome(
        make_job,
        loop,
        clock,
        schedule={"type": "hourly", "minute": 30},
        window=sunday_window(time(1, 0), time(1, 45)),
        slots=[first, second],
    )
    assert outcome == [
        (first, JobRun.Status.SKIPPED),
        (second, JobRun.Status.QUEUED),
    ]
