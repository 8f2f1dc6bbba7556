"""Faults: heartbeats, lost runs, database outages, shutdown."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import OperationalError

from jobs.models import Job, JobRun, Worker
from jobs.policies import MSG_SHUTDOWN
from jobs.services import runs
from jobs.services.runs import MSG_LOST, MSG_ORPHANED, job_run_now
from jobs.tests.conftest import FakeClock, eventually
from jobs.worker import WorkerLoop, backoff_seconds
from jobs.worker import execution as worker_execution

pytestmark = pytest.mark.django_db


def test_register_records_name_host_pid_and_start(
    make_loop: Callable[..., WorkerLoop], now: datetime
) -> None:
    """The Worker row says who and where the worker is."""
    loop = make_loop("w1")
    worker = loop.register()
    assert (worker.name, worker.host, worker.pid) == (
        "w1",
        socket.gethostname(),
        os.getpid(),
    )
    assert (worker.started_at, worker.last_heartbeat_at, worker.stopped_at) == (
        now,
        now,
        None,
    )


def test_default_name_is_host_and_pid(make_loop: Callable[..., WorkerLoop]) -> None:
    """Without --name: "<host>-<pid>"."""
    loop = WorkerLoop(stop=make_loop().stop)
    assert loop.name == f"{socket.gethostname()}-{os.getpid()}"
    loop._pool.shutdown()


def test_heartbeat_moves_last_heartbeat_at(loop: WorkerLoop, clock: FakeClock) -> None:
    """Each heartbeat stores the clock."""
    clock.advance(7)
    loop.heartbeat()
    assert Worker.objects.get(name="test-worker").last_heartbeat_at == clock.now


def run_on(
    loop: WorkerLoop, job: Job, now: datetime, *, clock: FakeClock | None = None
) -> JobRun:
    """Queue a run of `job` and let `loop` claim it."""
    run = job_run_now(job=job, requested_by=None, now=now)
    assert loop.claim_runs(1) == [run]
    run.refresh_from_db()
    return run


def test_runs_of_a_silent_worker_are_lost_and_retried(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
    now: datetime,
) -> None:
    """61 s without a heartbeat (limit 60): lost, and attempt 2 queued."""
    dead, alive = make_loop("dead"), make_loop("alive")
    dead.register()
    alive.register()
    job = make_job(retry_max_attempts=2, retry_delay_seconds=5)
    run = run_on(dead, job, now)
    clock.advance(61)
    alive.heartbeat()
    assert alive.recover_lost_runs() == 1
    run.refresh_from_db()
    assert (run.status, run.finished_at) == (JobRun.Status.LOST, clock.now)
    assert run.reason == MSG_LOST.format(worker="dead", seen=now.isoformat())
    retry = JobRun.objects.get(job=job, attempt=2)
    assert (retry.status, retry.trigger, retry.not_before) == (
        JobRun.Status.QUEUED,
        JobRun.Trigger.RETRY,
        clock.now + timedelta(seconds=5),
    )


def test_a_worker_within_the_limit_is_not_lost(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
    now: datetime,
) -> None:
    """59 s of silence: still alive."""
    slow, other = make_loop("slow"), make_loop("other")
    slow.register()
    other.register()
    run = run_on(slow, make_job(), now)
    clock.advance(59)
    assert other.recover_lost_runs() == 0
    run.refresh_from_db()
    assert run.status == JobRun.Status.RUNNING


def test_lost_runs_of_jobs_that_must_not_rerun_are_not_retried(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
    now: datetime,
) -> None:
    """retry_on_lost False: lost, no attempt 2."""
    dead, alive = make_loop("dead"), make_loop("alive")
    dead.register()
    alive.register()
    job = make_job(retry_max_attempts=2, retry_on_lost=False)
    run_on(dead, job, now)
    clock.advance(120)
    alive.recover_lost_runs()
    assert list(JobRun.objects.values_list("attempt", "status")) == [
        (1, JobRun.Status.LOST)
    ]


def test_a_restarted_worker_of_the_same_name_gives_up_its_old_runs(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
) -> None:
    """--name reused after a crash: the old process's runs are lost at once."""
    first = make_loop("fixed")
    first.register()
    run = run_on(first, make_job(), now)
    make_loop("fixed").register()
    run.refresh_from_db()
    assert (run.status, run.reason) == (
        JobRun.Status.LOST,
        MSG_ORPHANED.format(worker="fixed"),
    )


def test_run_once_heartbeats_and_recovers_when_due(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
    now: datetime,
) -> None:
    """The cycle itself finds dead workers' runs."""
    dead, alive = make_loop("dead"), make_loop("alive")
    dead.register()
    run = run_on(dead, make_job(schedules=[{"type": "manual"}]), now)
    alive.run_once()
    clock.advance(61)
    alive.run_once()
    run.refresh_from_db()
    assert run.status == JobRun.Status.LOST
    assert Worker.objects.get(name="alive").last_heartbeat_at == clock.now


def test_backoff_doubles_and_is_bounded() -> None:
    """0.5, 1, 2, 4 ... at most 30 s."""
    assert [backoff_seconds(n) for n in (1, 2, 3, 4, 10)] == [0.5, 1, 2, 4, 30]


def test_a_database_outage_is_logged_backed_off_and_survived(
    make_loop: Callable[..., WorkerLoop],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two failing cycles, then one that works: the loop neither crashes nor exits."""
    monkeypatch.setattr(worker_execution, "BACKOFF_FIRST_SECONDS", 0.001)
    loop = make_loop()
    calls: list[int] = []

    def flaky_cycle() -> float:
        calls.append(1)
        if len(calls) <= 2:
            raise OperationalError("connection refused")
        loop.stop.set()
        return 0.0

    monkeypatch.setattr(loop, "run_once", flaky_cycle)
    monkeypatch.setattr(loop, "shutdown", lambda: None)
    with caplog.at_level(logging.WARNING, logger="jobs.worker"):
        loop.run_forever()
    assert len(calls) == 3
    assert [r.getMessage() for r in caplog.records].count(
        "Database unavailable (connection refused); retrying in 0.0 s"
    ) == 2


def test_recording_a_result_survives_a_short_outage(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The final write is retried until the database answers again."""
    monkeypatch.setattr(worker_execution, "BACKOFF_FIRST_SECONDS", 0.001)
    monkeypatch.setattr(worker_execution, "close_connection", lambda: None)
    real_finish = runs.run_finish
    failures = [OperationalError("gone")]

    def flaky_finish(**kwargs: Any) -> object:
        if failures:
            raise failures.pop()
        return real_finish(**kwargs)

    monkeypatch.setattr(runs, "run_finish", flaky_finish)
    run = run_on(loop, make_job(), now)
    loop.execute_run(run)
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED


# --- shutdown -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_shutdown_after_the_grace_period_stops_runs_and_hands_them_on(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
    now: datetime,
) -> None:
    """Grace 0: the nap is stopped, recorded lost, and attempt 2 is queued now."""
    loop = make_loop("leaving", output_interval_seconds=0.05)
    loop.register()
    run = run_on(loop, make_job(script="nap.py"), now)
    loop.start_runs([run])
    eventually(lambda: JobRun.objects.get(pk=run.pk).output, timeout=10)
    loop.stop.set()
    loop.shutdown()
    run.refresh_from_db()
    assert (run.status, run.reason) == (
        JobRun.Status.LOST,
        MSG_SHUTDOWN.format(worker="leaving"),
    )
    retry = JobRun.objects.get(attempt=2)
    assert (retry.status, retry.not_before) == (JobRun.Status.QUEUED, clock.now)
    assert Worker.objects.get(name="leaving").stopped_at == clock.now


@pytest.mark.django_db(transaction=True)
def test_a_loop_ended_by_an_error_claims_nothing_more_on_its_way_out(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
) -> None:
    """Shutdown without the stop event (a crashed cycle): the retry stays queued.

    Before, the pool's thread went on claiming (the retry of its own run)
    while the loop, and so the heartbeat, had ended.
    """
    loop = make_loop("crashed", output_interval_seconds=0.05)
    loop.register()
    run = run_on(loop, make_job(script="nap.py"), now)
    loop.start_runs([run])
    eventually(lambda: JobRun.objects.get(pk=run.pk).output, timeout=10)
    loop.shutdown()
    assert loop.stop.is_set() is True
    retry = JobRun.objects.get(attempt=2)
    assert (retry.status, retry.worker_id) == (JobRun.Status.QUEUED, None)


@pytest.mark.django_db(transaction=True)
def test_shutdown_lets_a_run_finish_within_the_grace_period(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
) -> None:
    """Grace 10 s and a quick script: it succeeds; nothing is handed on."""
    loop = make_loop(grace_seconds=10)
    loop.register()
    run = run_on(loop, make_job(), now)
    loop.start_runs([run])
    loop.stop.set()
    loop.shutdown()
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED
    assert JobRun.objects.count() == 1
