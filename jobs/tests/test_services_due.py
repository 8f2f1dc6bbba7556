"""Turning due slots into runs: one record per slot, misfires, concurrency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs import selectors
from jobs.models import Job, JobRun, Schedule
from jobs.policies import (
    MSG_FORBID,
    MSG_MISFIRE_CAP,
    MSG_MISFIRE_COALESCED,
    MSG_MISFIRE_SKIPPED,
)
from jobs.services import due
from jobs.services.due import MSG_REPLACED, MSG_SCHEDULE_FAILED
from jobs.services.runs import job_run_now
from jobs.tests.conftest import FakeClock
from jobs.worker import WorkerLoop

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def minute(n: int, second: int = 0) -> datetime:
    """Return T0 plus `n` minutes and `second` seconds."""
    return T0 + timedelta(minutes=n, seconds=second)


def slots_of(job: Job) -> list[tuple[datetime, str, str, int]]:
    """Return (slot, status, reason, missed_slots) of the job's runs in order."""
    runs = JobRun.objects.filter(job=job).order_by("scheduled_for", "attempt")
    return list(runs.values_list("scheduled_for", "status", "reason", "missed_slots"))


# --- on-time slots -------------------------------------------------------------


def test_due_slot_becomes_one_queued_run_and_next_run_at_advances(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """At 00:01 the every-minute job gets one queued run; next slot 00:02."""
    job = make_job()
    clock.now = minute(1)
    assert loop.schedule_due_slots() == 1
    run = JobRun.objects.get(job=job)
    assert (run.scheduled_for, run.status, run.trigger, run.attempt) == (
        minute(1),
        JobRun.Status.QUEUED,
        JobRun.Trigger.SCHEDULE,
        1,
    )
    assert (run.queued_at, run.not_before, run.missed_slots) == (
        minute(1),
        minute(1),
        0,
    )
    job.refresh_from_db()
    assert job.next_run_at == minute(2)


def test_a_slot_is_prepared_ahead_but_starts_at_its_instant(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
) -> None:
    """prepare 0.1 s: recorded at 00:00:59.95, claimable only from 00:01."""
    loop = make_loop(prepare_seconds=0.1)
    job = make_job()
    clock.now = minute(1) - timedelta(milliseconds=150)
    assert loop.schedule_due_slots() == 0
    assert loop.seconds_until_next() == pytest.approx(0.05)
    clock.now = minute(1) - timedelta(milliseconds=50)
    assert loop.schedule_due_slots() == 1
    run = JobRun.objects.get(job=job)
    assert (run.status, run.scheduled_for, run.not_before, run.missed_slots) == (
        JobRun.Status.QUEUED,
        minute(1),
        minute(1),
        0,
    )
    assert loop.claim_runs(1) == []
    assert loop.seconds_until_next() == pytest.approx(0.05)
    clock.now = minute(1)
    assert loop.claim_runs(1) == [run]


def test_nothing_is_recorded_a_microsecond_before_the_slot(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """A slot is due at its instant, not before."""
    job = make_job()
    clock.now = minute(1) - timedelta(microseconds=1)
    assert loop.schedule_due_slots() == 0
    assert JobRun.objects.count() == 0
    job.refresh_from_db()
    assert job.next_run_at == minute(1)


def test_a_second_pass_at_the_same_instant_records_nothing(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Once recorded, a slot is never recorded again."""
    make_job()
    clock.now = minute(1)
    assert loop.schedule_due_slots() == 1
    assert loop.schedule_due_slots() == 0
    assert JobRun.objects.count() == 1


def test_two_workers_record_a_slot_once(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
) -> None:
    """Two loops over the same due job: one run in total."""
    make_job()
    first, second = make_loop("a"), make_loop("b")
    clock.now = minute(1)
    assert first.schedule_due_slots() + second.schedule_due_slots() == 1
    assert JobRun.objects.count() == 1


def test_two_schedules_firing_at_one_instant_give_one_run(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """An interval and a cron schedule both at 00:01: one slot, one run."""
    job = make_job(
        schedules=[
            {"type": "interval", "seconds": 60},
            {"type": "cron", "expression": "* * * * *", "timezone": "UTC"},
        ]
    )
    clock.now = minute(1)
    assert loop.schedule_due_slots() == 1
    assert [slot for slot, *_ in slots_of(job)] == [minute(1)]
    job.refresh_from_db()
    assert job.next_run_at == minute(2)


def test_next_run_at_follows_the_engine_across_a_dst_change(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Daily 02:30 New York: the gap day fires at 03:00 EDT, then 02:30 EDT."""
    job = make_job(
        schedules=[{"type": "daily", "time": "02:30"}],
        timezone="America/New_York",
        at=datetime(2026, 3, 8, 0, tzinfo=UTC),
    )
    # 2026-03-08 is the spring-forward day: 02:30 does not exist.
    gap_fire = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert job.next_run_at == gap_fire
    clock.now = gap_fire
    assert loop.schedule_due_slots() == 1
    job.refresh_from_db()
    assert job.next_run_at == datetime(2026, 3, 9, 6, 30, tzinfo=UTC)


def test_a_slot_taken_by_another_worker_is_left_alone(
    make_job: Callable[..., Job], clock: FakeClock
) -> None:
    """Compare-and-set: a stale next_run_at changes nothing and records nothing."""
    job = make_job()
    stale = Job.objects.prefetch_related("schedules").get(pk=job.pk)
    Job.objects.filter(pk=job.pk).update(next_run_at=minute(2))  # the other won
    step = due._schedule_jobs([stale], now=minute(1), horizon=minute(1))
    assert step == due.DueBatch()
    assert JobRun.objects.count() == 0
    assert Job.objects.get(pk=job.pk).next_run_at == minute(2)


def test_a_slot_that_already_has_a_run_is_not_recorded_twice(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """The unique constraint backs the claim: no second row for a slot."""
    job = make_job()
    job_run_now(job=job, requested_by=None, now=minute(1))  # same instant
    clock.now = minute(2)
    assert loop.schedule_due_slots() == 1
    assert [slot for slot, *_ in slots_of(job)] == [minute(1), minute(2)]
    job.refresh_from_db()
    assert job.next_run_at == minute(3)


def test_inactive_and_manual_jobs_are_never_due(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """No next_run_at, no slot."""
    make_job("off", is_active=False)
    make_job("manual", schedules=[{"type": "manual"}])
    clock.now = minute(10)
    assert loop.schedule_due_slots() == 0


def test_an_unusable_schedule_blocks_its_slot_and_stops_the_job(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """A schedule that no longer parses: the slot is blocked, not retried forever."""
    job = make_job()
    Schedule.objects.filter(job=job).update(document={"type": "daily", "time": "9"})
    clock.now = minute(1)
    assert loop.schedule_due_slots() == 1
    run = JobRun.objects.get(job=job)
    assert run.status == JobRun.Status.BLOCKED
    assert run.reason.startswith(MSG_SCHEDULE_FAILED.format(error="time: "))
    job.refresh_from_db()
    assert job.next_run_at is None
    assert job.schedule_error.startswith("time: ")
    assert loop.schedule_due_slots() == 0


def test_higher_priority_jobs_are_scheduled_first(
    make_job: Callable[..., Job], clock: FakeClock
) -> None:
    """Due jobs come highest priority first, then earliest slot."""
    low = make_job("low", priority=0)
    high = make_job("high", priority=5)
    later = make_job("later", priority=5, at=minute(1))
    assert list(selectors.jobs_due(now=minute(3))) == [high, later, low]


def test_finding_due_jobs_is_an_index_range_scan(make_job: Callable[..., Job]) -> None:
    """The due query reads an index on next_run_at, never the whole table."""
    make_job()
    query = selectors.jobs_due(now=minute(1))[: due.DUE_BATCH]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Tiny test tables make a sequential scan cheaper; ask whether
            # an index can serve the query at all.
            cursor.execute("SET LOCAL enable_seqscan = off")
            plan = query.explain()
        assert "Index" in plan
        assert "Seq Scan" not in plan
    else:
        plan = query.explain()
        assert "SEARCH jobs_job USING INDEX" in plan
        assert "(next_run_at<?)" in plan


def test_scheduling_cost_does_not_grow_with_defined_jobs(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """One due job among 1 or 300 defined: the same queries."""
    # Both steps queue a run (no policy turns the second slot into a skip,
    # whose event would be one more statement).
    make_job("due-1", concurrency_policy=Job.ConcurrencyPolicy.ALLOW)
    clock.now = minute(1)
    with CaptureQueriesContext(connection) as few:
        loop.schedule_due_slots()
    Job.objects.bulk_create(
        Job(name=f"idle-{i}", script="ok.py", next_run_at=minute(60))
        for i in range(300)
    )
    clock.now = minute(2)
    with CaptureQueriesContext(connection) as many:
        loop.schedule_due_slots()
    assert len(many) == len(few)


@pytest.mark.parametrize(
    "policy",
    [Job.ConcurrencyPolicy.FORBID, Job.ConcurrencyPolicy.ALLOW],
)
def test_scheduling_a_batch_of_due_jobs_takes_a_fixed_number_of_queries(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock, policy: str
) -> None:
    """3 or 30 jobs due at once: one batch, the same statements."""
    counts = []
    for count, at in ((3, 1), (30, 2)):
        jobs = [make_job(f"j{at}-{i}", concurrency_policy=policy) for i in range(count)]
        Job.objects.filter(pk__in=[j.pk for j in jobs]).update(next_run_at=minute(at))
        Job.objects.exclude(pk__in=[j.pk for j in jobs]).update(is_active=False)
        clock.now = minute(at)
        with CaptureQueriesContext(connection) as queries:
            assert loop.schedule_due_slots() == count
        counts.append(len(queries))
        queued = JobRun.objects.filter(job__in=jobs, status=JobRun.Status.QUEUED)
        assert queued.count() == count
    assert counts[0] == counts[1]


def test_next_due_at_is_the_earliest_future_slot_or_retry(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """The loop sleeps until the earliest of next_run_at and not_before."""
    make_job("a", schedules=[{"type": "interval", "seconds": 300}])
    make_job("b", schedules=[{"type": "interval", "seconds": 120}])
    assert selectors.next_due_at(after=now) == minute(2)
    run = job_run_now(job=Job.objects.get(name="a"), requested_by=None, now=now)
    JobRun.objects.filter(pk=run.pk).update(not_before=minute(1, 30))
    assert selectors.next_due_at(after=now) == minute(1, 30)


# --- misfires ------------------------------------------------------------------


def test_run_once_runs_the_latest_missed_slot_and_folds_the_others(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Ten slots missed: one run for 00:10 counting nine, nine folded skips."""
    job = make_job(misfire_grace_seconds=30)
    clock.now = minute(10, 45)
    assert loop.schedule_due_slots() == 10
    records = slots_of(job)
    assert records[:9] == [
        (minute(n), JobRun.Status.SKIPPED, MSG_MISFIRE_COALESCED, 0)
        for n in range(1, 10)
    ]
    assert records[9] == (minute(10), JobRun.Status.QUEUED, "", 9)
    job.refresh_from_db()
    assert job.next_run_at == minute(11)


def test_skip_records_every_missed_slot_as_skipped(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Policy skip: ten skipped slots, no run."""
    job = make_job(misfire_policy=Job.MisfirePolicy.SKIP, misfire_grace_seconds=30)
    clock.now = minute(10, 45)
    assert loop.schedule_due_slots() == 10
    assert slots_of(job) == [
        (minute(n), JobRun.Status.SKIPPED, MSG_MISFIRE_SKIPPED, 0) for n in range(1, 11)
    ]


def test_run_all_queues_one_run_per_missed_slot(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Policy run_all under its cap: ten queued runs."""
    job = make_job(misfire_policy=Job.MisfirePolicy.RUN_ALL, misfire_grace_seconds=30)
    clock.now = minute(10, 45)
    assert loop.schedule_due_slots() == 10
    assert slots_of(job) == [
        (minute(n), JobRun.Status.QUEUED, "", 0) for n in range(1, 11)
    ]


def test_run_all_beyond_its_cap_skips_the_oldest(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cap 3, ten missed: the latest three run, seven skipped (misfire cap)."""
    monkeypatch.setattr(due, "MISFIRE_RUN_ALL_CAP", 3)
    job = make_job(misfire_policy=Job.MisfirePolicy.RUN_ALL, misfire_grace_seconds=30)
    clock.now = minute(10, 45)
    assert loop.schedule_due_slots() == 10
    reason = MSG_MISFIRE_CAP.format(cap=3)
    assert slots_of(job) == [
        *[(minute(n), JobRun.Status.SKIPPED, reason, 0) for n in range(1, 8)],
        *[(minute(n), JobRun.Status.QUEUED, "", 0) for n in range(8, 11)],
    ]


def test_a_slot_within_the_grace_period_simply_runs(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Twenty seconds late with a 30 s grace: an ordinary run, under any policy."""
    job = make_job(misfire_policy=Job.MisfirePolicy.SKIP, misfire_grace_seconds=30)
    clock.now = minute(1, 20)
    assert loop.schedule_due_slots() == 1
    assert slots_of(job) == [(minute(1), JobRun.Status.QUEUED, "", 0)]


def test_missed_and_on_time_slots_after_downtime(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Grace 90 s at 00:05:30: 00:01-00:03 missed (one run), 00:04-00:05 run."""
    job = make_job(misfire_grace_seconds=90, concurrency_policy="allow")
    clock.now = minute(5, 30)
    assert loop.schedule_due_slots() == 5
    assert slots_of(job) == [
        (minute(1), JobRun.Status.SKIPPED, MSG_MISFIRE_COALESCED, 0),
        (minute(2), JobRun.Status.SKIPPED, MSG_MISFIRE_COALESCED, 0),
        (minute(3), JobRun.Status.QUEUED, "", 2),
        (minute(4), JobRun.Status.QUEUED, "", 0),
        (minute(5), JobRun.Status.QUEUED, "", 0),
    ]


@pytest.mark.parametrize(
    ("policy", "queued", "last_missed_slots"),
    [
        (Job.MisfirePolicy.RUN_ONCE, [12], 11),
        (Job.MisfirePolicy.SKIP, [], 0),
        (Job.MisfirePolicy.RUN_ALL, [11, 12], 0),
    ],
)
def test_a_backlog_longer_than_one_step_ends_the_same(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    policy: str,
    queued: list[int],
    last_missed_slots: int,
) -> None:
    """Five slots per step, twelve missed: every slot once, latest ones run."""
    monkeypatch.setattr(due, "SLOT_SCAN_LIMIT", 5)
    monkeypatch.setattr(due, "MISFIRE_RUN_ALL_CAP", 2)
    job = make_job(misfire_policy=policy, misfire_grace_seconds=30)
    clock.now = minute(12, 45)
    assert loop.schedule_due_slots() == 12
    records = slots_of(job)
    assert [slot for slot, *_ in records] == [minute(n) for n in range(1, 13)]
    assert [slot for slot, status, *_ in records if status == JobRun.Status.QUEUED] == [
        minute(n) for n in queued
    ]
    assert records[-1][3] == last_missed_slots
    job.refresh_from_db()
    assert job.next_run_at == minute(13)


# --- concurrency policies at scheduling time -------------------------------------


def running_run(job: Job, at: datetime) -> JobRun:
    """Create a run of `job` that is running since `at`."""
    return JobRun.objects.create(
        job=job,
        scheduled_for=at,
        trigger=JobRun.Trigger.SCHEDULE,
        status=JobRun.Status.RUNNING,
        queued_at=at,
        not_before=at,
        started_at=at,
    )


def test_forbid_skips_a_slot_while_the_previous_run_is_running(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Policy forbid (the default): the new slot is skipped with the reason."""
    job = make_job()
    running_run(job, minute(0))
    clock.now = minute(1)
    assert loop.schedule_due_slots() == 1
    assert slots_of(job)[1] == (minute(1), JobRun.Status.SKIPPED, MSG_FORBID, 0)


def test_forbid_allows_up_to_max_concurrent(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Forbid with max_concurrent 2 and one running: the slot is queued."""
    job = make_job(max_concurrent=2)
    running_run(job, minute(0))
    clock.now = minute(1)
    loop.schedule_due_slots()
    assert slots_of(job)[1] == (minute(1), JobRun.Status.QUEUED, "", 0)


def test_allow_queues_a_slot_beside_a_running_run(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Policy allow: the slot is queued (its start waits for max_concurrent)."""
    job = make_job(concurrency_policy=Job.ConcurrencyPolicy.ALLOW)
    running_run(job, minute(0))
    clock.now = minute(1)
    loop.schedule_due_slots()
    assert slots_of(job)[1] == (minute(1), JobRun.Status.QUEUED, "", 0)


def test_replace_cancels_the_running_run_and_queues_the_new_slot(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Policy replace: the running run is asked to stop; a queued one is cancelled."""
    job = make_job(concurrency_policy=Job.ConcurrencyPolicy.REPLACE)
    old = running_run(job, minute(0))
    clock.now = minute(1)
    loop.schedule_due_slots()
    old.refresh_from_db()
    assert old.status == JobRun.Status.RUNNING
    assert old.cancel_requested_at == minute(1)
    assert old.reason == MSG_REPLACED.format(slot=minute(1).isoformat())
    assert slots_of(job)[1] == (minute(1), JobRun.Status.QUEUED, "", 0)
    # The next slot finds the queued 00:01 run (not yet started) and cancels it.
    clock.now = minute(2)
    loop.schedule_due_slots()
    queued = JobRun.objects.get(job=job, scheduled_for=minute(1))
    assert queued.status == JobRun.Status.CANCELLED
    assert queued.reason == MSG_REPLACED.format(slot=minute(2).isoformat())
