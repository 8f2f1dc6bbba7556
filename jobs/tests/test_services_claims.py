"""Claiming queued runs: order, per-job limits, capacity, no double start."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from jobs.models import Job, JobRun
from jobs.services.jobs import job_save
from jobs.services.runs import job_run_now
from jobs.tests.conftest import FakeClock
from jobs.worker import WorkerLoop

pytestmark = pytest.mark.django_db


def queue(job: Job, at: datetime, **fields: object) -> JobRun:
    """Queue a manual run of `job` at `at`, with field overrides."""
    run = job_run_now(job=job, requested_by=None, now=at)
    if fields:
        JobRun.objects.filter(pk=run.pk).update(**fields)
        run.refresh_from_db()
    return run


def test_a_claimed_run_is_running_on_this_worker_since_now(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock, now: datetime
) -> None:
    """Claim: queued -> running, worker set, started_at = the clock."""
    run = queue(make_job(), now)
    clock.advance(2)
    assert loop.claim_runs(5) == [run]
    run.refresh_from_db()
    assert run.status == JobRun.Status.RUNNING
    assert run.worker == loop.worker
    assert run.started_at == clock.now


def test_a_run_is_claimed_by_one_worker_only(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
) -> None:
    """A second worker finds nothing left to claim."""
    queue(make_job(), now)
    first, second = make_loop("a"), make_loop("b")
    assert len(first.claim_runs(5)) == 1
    assert second.claim_runs(5) == []


def test_higher_priority_is_claimed_first(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """With room for one run, the priority-5 job's run wins over an older one."""
    low = queue(make_job("low", priority=0), now - timedelta(seconds=30))
    high = queue(make_job("high", priority=5), now)
    assert loop.claim_runs(1) == [high]
    assert loop.claim_runs(1) == [low]


def test_equal_priority_is_claimed_by_not_before(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """Earliest not_before first."""
    late = queue(make_job("a"), now)
    early = queue(make_job("b"), now - timedelta(seconds=5))
    assert loop.claim_runs(2) == [early, late]


def test_a_run_waits_for_its_not_before(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock, now: datetime
) -> None:
    """A retry delayed to now+10 s is not claimed at now+9.999 s."""
    run = queue(make_job(), now, not_before=now + timedelta(seconds=10))
    clock.now = now + timedelta(seconds=10) - timedelta(microseconds=1)
    assert loop.claim_runs(5) == []
    clock.now = now + timedelta(seconds=10)
    assert loop.claim_runs(5) == [run]


def test_per_job_max_concurrent_holds_back_the_jobs_next_run(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """max_concurrent 1: the second run of a job waits; another job's goes."""
    busy = make_job("busy", priority=9)
    queue(busy, now - timedelta(microseconds=1))
    second = queue(busy, now)
    other = queue(make_job("other"), now)
    assert len(loop.claim_runs(1)) == 1
    assert loop.claim_runs(5) == [other]
    second.refresh_from_db()
    assert second.status == JobRun.Status.QUEUED


def test_max_concurrent_two_lets_two_runs_of_a_job_start(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """max_concurrent 2: two of three queued runs start."""
    job = make_job(max_concurrent=2, concurrency_policy=Job.ConcurrencyPolicy.ALLOW)
    for i in range(3):
        queue(job, now - timedelta(microseconds=i))
    assert len(loop.claim_runs(5)) == 2


def test_a_run_being_replaced_does_not_count_against_the_limit(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """Policy replace: the new run starts while the old one is being stopped."""
    job = make_job(concurrency_policy=Job.ConcurrencyPolicy.REPLACE)
    old = queue(job, now - timedelta(seconds=1))
    loop.claim_runs(1)
    JobRun.objects.filter(pk=old.pk).update(cancel_requested_at=now)
    new = queue(job, now)
    assert loop.claim_runs(1) == [new]


def test_claims_stop_at_the_workers_free_capacity(
    make_job: Callable[..., Job], make_loop: Callable[..., WorkerLoop], now: datetime
) -> None:
    """A worker with concurrency 2 runs at most 2 at once."""
    loop = make_loop(concurrency=2)
    for i in range(4):
        queue(make_job(f"job-{i}"), now)
    assert loop.free_capacity() == 2
    assert len(loop.claim_runs(loop.free_capacity())) == 2
    assert loop.claim_runs(0) == []


def test_a_job_at_its_limit_does_not_starve_the_others(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """30 queued runs of a busy high-priority job: a low one still starts."""
    busy = make_job("busy", priority=9)
    queue(busy, now - timedelta(seconds=1))
    loop.claim_runs(1)
    for i in range(30):
        queue(busy, now + timedelta(microseconds=i))
    other = queue(make_job("other", priority=0), now)
    assert loop.claim_runs(1) == [other]


def test_a_changed_job_priority_reorders_its_queued_runs(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """Raising a job's priority lifts its runs already waiting in the queue."""
    first = queue(make_job("first"), now - timedelta(seconds=5))
    raised_job = make_job("raised")
    raised = queue(raised_job, now)
    raised_job.priority = 7
    job_save(job=raised_job, schedules=None, now=now)
    raised.refresh_from_db()
    assert raised.priority == 7
    assert loop.claim_runs(1) == [raised]
    assert loop.claim_runs(1) == [first]
