"""Run services: finishing, retries and backoff, cancel, mark failed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User

from accounts.tests.factories import UserFactory
from jobs.models import Job, JobRun, Worker
from jobs.services.runs import (
    MSG_CANCELLED_BY,
    MSG_MARKED_FAILED,
    MSG_NOT_CANCELLABLE,
    MSG_NOT_RUNNING,
    Outcome,
    RetryMode,
    RunStateError,
    job_run_now,
    run_finish,
    run_mark_failed,
    run_request_cancel,
)
from jobs.services.workers import worker_register

pytestmark = pytest.mark.django_db

FAILED_2 = Outcome(JobRun.Status.FAILED, exit_code=2)


@pytest.fixture
def worker(now: datetime) -> Worker:
    """Return a registered worker row."""
    return worker_register(name="w1", host="h", pid=1, now=now)


@pytest.fixture
def alice() -> User:
    """Return a user."""
    return UserFactory.create(username="alice")


def running(job: Job, worker: Worker, at: datetime, **fields: object) -> JobRun:
    """Create a run of `job` running on `worker` since `at`."""
    values: dict[str, object] = {
        "scheduled_for": at,
        "attempt": 1,
        "trigger": JobRun.Trigger.SCHEDULE,
        "queued_at": at,
        "not_before": at,
        "started_at": at,
    }
    values.update(fields)
    return JobRun.objects.create(
        job=job, status=JobRun.Status.RUNNING, worker=worker, **values
    )


def finish(
    run: JobRun, worker: Worker, outcome: Outcome, at: datetime
) -> JobRun | None:
    """Finish `run` with `outcome` at `at`; return its retry."""
    return run_finish(run=run, worker=worker, outcome=outcome, now=at)


# --- retries ---------------------------------------------------------------------


def test_a_failed_run_retries_after_the_delay_as_a_new_attempt(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """Exit 2, 3 attempts, 30 s: attempt 2 queued, not before finish + 30 s."""
    job = make_job(retry_max_attempts=3, retry_delay_seconds=30)
    run = running(job, worker, now, parameters={"a": 1})
    finished = now + timedelta(seconds=5)
    retry = finish(run, worker, FAILED_2, finished)
    assert retry is not None
    assert (retry.attempt, retry.trigger, retry.status) == (
        2,
        JobRun.Trigger.RETRY,
        JobRun.Status.QUEUED,
    )
    assert (retry.scheduled_for, retry.queued_at, retry.not_before) == (
        now,
        finished,
        finished + timedelta(seconds=30),
    )
    assert retry.parameters == {"a": 1}
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.finished_at) == (
        JobRun.Status.FAILED,
        2,
        finished,
    )


def test_exponential_retries_wait_longer_each_time(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """Attempt 2 fails at T: attempt 3 not before T + 2 x 10 s."""
    job = make_job(
        retry_max_attempts=4,
        retry_delay_seconds=10,
        retry_backoff=Job.RetryBackoff.EXPONENTIAL,
    )
    second = running(job, worker, now, attempt=2)
    at = now + timedelta(minutes=1)
    retry = finish(second, worker, FAILED_2, at)
    assert retry is not None
    assert (retry.attempt, retry.not_before) == (3, at + timedelta(seconds=20))


def test_no_retry_after_the_last_attempt(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """Attempt 3 of 3 fails: nothing queued."""
    job = make_job(retry_max_attempts=3)
    assert finish(running(job, worker, now, attempt=3), worker, FAILED_2, now) is None


def test_default_jobs_do_not_retry(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """retry_max_attempts 1 (the default) means one attempt."""
    assert finish(running(make_job(), worker, now), worker, FAILED_2, now) is None


@pytest.mark.parametrize(("code", "retries"), [(3, True), (2, False), (0, False)])
def test_only_listed_exit_codes_retry(
    make_job: Callable[..., Job],
    worker: Worker,
    now: datetime,
    code: int,
    retries: bool,
) -> None:
    """retry_exit_codes [3]: exit 3 retries, exit 2 does not, success never."""
    job = make_job(retry_max_attempts=2, retry_exit_codes=[3])
    status = JobRun.Status.SUCCEEDED if code == 0 else JobRun.Status.FAILED
    outcome = Outcome(status, exit_code=code)
    assert (finish(running(job, worker, now), worker, outcome, now) is not None) is (
        retries
    )


@pytest.mark.parametrize("retry_on_timeout", [True, False])
def test_timeouts_retry_only_when_asked(
    make_job: Callable[..., Job], worker: Worker, now: datetime, retry_on_timeout: bool
) -> None:
    """retry_on_timeout decides."""
    job = make_job(retry_max_attempts=2, retry_on_timeout=retry_on_timeout)
    outcome = Outcome(JobRun.Status.TIMED_OUT, exit_code=-15)
    retry = finish(running(job, worker, now), worker, outcome, now)
    assert (retry is not None) is retry_on_timeout


def test_no_retry_past_the_total_retry_time(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """Max 100 s since attempt 1 started: a retry due at +170 s is not queued."""
    job = make_job(
        retry_max_attempts=5, retry_delay_seconds=60, retry_max_total_seconds=100
    )
    first = running(job, worker, now)
    retry = finish(first, worker, FAILED_2, now + timedelta(seconds=40))
    assert retry is not None
    assert retry.not_before == now + timedelta(seconds=100)  # just inside
    JobRun.objects.filter(pk=retry.pk).update(
        status=JobRun.Status.RUNNING, worker=worker, started_at=retry.not_before
    )
    retry.refresh_from_db()
    assert finish(retry, worker, FAILED_2, now + timedelta(seconds=110)) is None


def test_an_interrupted_run_retries_at_once_outside_the_attempt_count(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """Shutdown: the run is lost and attempt 2 may start right away."""
    job = make_job()  # one attempt only
    outcome = Outcome(JobRun.Status.LOST, reason="shut down")
    run = running(job, worker, now)
    retry = run_finish(
        run=run, worker=worker, outcome=outcome, now=now, retry=RetryMode.INTERRUPTED
    )
    assert retry is not None
    assert (retry.attempt, retry.not_before) == (2, now)


def test_an_interrupted_run_of_a_job_that_must_not_rerun_stays_lost(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """retry_on_lost False: no new attempt, even after a clean shutdown."""
    job = make_job(retry_on_lost=False)
    outcome = Outcome(JobRun.Status.LOST, reason="shut down")
    retry = run_finish(
        run=running(job, worker, now),
        worker=worker,
        outcome=outcome,
        now=now,
        retry=RetryMode.INTERRUPTED,
    )
    assert retry is None


def test_a_result_for_a_run_taken_away_is_dropped(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """Another worker marked it lost: the late result changes nothing."""
    run = running(make_job(), worker, now)
    JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.LOST)
    outcome = Outcome(JobRun.Status.SUCCEEDED, exit_code=0)
    assert finish(run, worker, outcome, now) is None
    run.refresh_from_db()
    assert run.status == JobRun.Status.LOST


# --- cancel and mark failed ----------------------------------------------------------


def test_cancelling_a_queued_run_cancels_it_at_once(
    make_job: Callable[..., Job], alice: User, now: datetime
) -> None:
    """Queued -> cancelled, with who asked."""
    run = job_run_now(job=make_job(), requested_by=None, now=now)
    run = run_request_cancel(run=run, requested_by=alice, now=now)
    assert (run.status, run.finished_at, run.reason, run.cancel_requested_by) == (
        JobRun.Status.CANCELLED,
        now,
        MSG_CANCELLED_BY.format(user="alice"),
        alice,
    )


def test_cancelling_a_running_run_flags_it_for_its_worker(
    make_job: Callable[..., Job],
    worker: Worker,
    alice: User,
    now: datetime,
) -> None:
    """Running stays running until its worker stops it; asking twice is fine."""
    run = running(make_job(), worker, now)
    later = now + timedelta(seconds=1)
    run = run_request_cancel(run=run, requested_by=alice, now=later)
    assert (run.status, run.cancel_requested_at) == (JobRun.Status.RUNNING, later)
    again = run_request_cancel(
        run=run, requested_by=alice, now=later + later.resolution
    )
    assert again.cancel_requested_at == later


def test_a_finished_run_cannot_be_cancelled(
    make_job: Callable[..., Job], worker: Worker, alice: User, now: datetime
) -> None:
    """RunStateError with the status."""
    run = running(make_job(), worker, now)
    finish(run, worker, Outcome(JobRun.Status.SUCCEEDED, exit_code=0), now)
    with pytest.raises(
        RunStateError, match=MSG_NOT_CANCELLABLE.format(status="succeeded")
    ):
        run_request_cancel(run=run, requested_by=alice, now=now)


def test_mark_failed_ends_a_run_stuck_on_a_dead_worker_at_once(
    make_job: Callable[..., Job],
    worker: Worker,
    alice: User,
    now: datetime,
) -> None:
    """No waiting for the heartbeat limit, no retry, the reason names both."""
    job = make_job(retry_max_attempts=3)
    run = running(job, worker, now)
    run = run_mark_failed(run=run, requested_by=alice, now=now)
    assert (run.status, run.finished_at, run.reason) == (
        JobRun.Status.FAILED,
        now,
        MSG_MARKED_FAILED.format(user="alice", worker="w1"),
    )
    assert JobRun.objects.filter(job=job).count() == 1
    # Should its worker be alive after all, its late result is dropped.
    assert finish(run, worker, Outcome(JobRun.Status.SUCCEEDED), now) is None


def test_only_a_running_run_can_be_marked_failed(
    make_job: Callable[..., Job], alice: User, now: datetime
) -> None:
    """RunStateError for a queued run."""
    run = job_run_now(job=make_job(), requested_by=None, now=now)
    with pytest.raises(RunStateError, match=MSG_NOT_RUNNING.format(status="queued")):
        run_mark_failed(run=run, requested_by=alice, now=now)
