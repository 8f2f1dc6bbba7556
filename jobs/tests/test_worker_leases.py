"""Leases, takeover, same-host orphans and database outages around a run's start.

Real processes and a real database: a database error is injected at each
step before the script starts, and once as a real PostgreSQL connection
termination (pg_terminate_backend).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection

from jobs import process_tree, reasons
from jobs.models import Job, JobRun
from jobs.policies import MSG_SUPERVISOR_ENDED
from jobs.services import claims, execution, probes
from jobs.services.runs import job_run_now
from jobs.tests.conftest import FakeClock, eventually
from jobs.worker import WorkerLoop
from jobs.worker import execution as worker_execution

pytestmark = pytest.mark.django_db

SLEEPER = "import time; time.sleep(1000)"
# Bounds waits on real processes; generous for a loaded 2-core machine.
EXIT_TIMEOUT = 30


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_execution, "BACKOFF_FIRST_SECONDS", 0.001)


def _queue(loop: WorkerLoop, job: Job, now: datetime) -> JobRun:
    """Queue a run of `job` and let `loop` claim it."""
    run = job_run_now(job=job, requested_by=None, now=now)
    assert loop.claim_runs(1) == [run]
    run.refresh_from_db()
    return run


def _once(error: Exception, real: Callable[..., Any]) -> Callable[..., Any]:
    """Return `real`, raising `error` on its first call only."""
    errors = [error]

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if errors:
            raise errors.pop()
        return real(*args, **kwargs)

    return flaky


def _assert_queued_again(run: JobRun) -> None:
    run.refresh_from_db()
    assert (run.status, run.worker_id, run.started_at, run.attempt) == (
        JobRun.Status.QUEUED,
        None,
        None,
        1,
    )


def test_a_database_error_while_preparing_hands_the_run_back(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run goes back to the queue: not failed, not left running."""
    real = execution.run_prepare
    monkeypatch.setattr(execution, "run_prepare", _once(OperationalError("x"), real))
    run = _queue(loop, make_job(), now)
    loop.execute_run(run)
    _assert_queued_again(run)
    assert JobRun.objects.count() == 1


def test_a_database_error_in_a_preflight_probe_hands_the_run_back(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A probe query failing (a restart) leaves the run queued for a retry."""
    real = probes.job_has_secrets
    monkeypatch.setattr(probes, "job_has_secrets", _once(OperationalError("x"), real))
    run = _queue(loop, make_job(), now)
    loop.execute_run(run)
    _assert_queued_again(run)
    assert loop.claim_runs(1) == [run]
    loop.execute_run(run)
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED


def test_a_claim_whose_read_back_fails_is_handed_back_at_the_next_heartbeat(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Claimed (committed) but never read back: not left running forever."""
    run = job_run_now(job=make_job(), requested_by=None, now=now)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        patch.setattr(claims.plain_sql, "rows_with_parent", broken)
        with pytest.raises(OperationalError):
            loop.claim_runs(1)
    run.refresh_from_db()
    assert loop.worker is not None
    assert (run.status, run.worker_id) == (JobRun.Status.RUNNING, loop.worker.pk)
    loop.heartbeat()
    _assert_queued_again(run)


def test_a_run_claimed_again_by_another_thread_stays_in_flight(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The thread of a run's first execution does not drop its second one.

    A claim lost in a database crash (synchronous_commit off) queues the
    run again, and another thread of the same worker may claim it while
    the first execution's thread is still finishing. That thread dropped
    the run's id from the runs in flight, the next heartbeat handed the run
    back while it executed, and it ran twice at once (bench/fault_run.py).
    """
    run = _queue(loop, make_job(), now)
    first = worker_execution.InFlight(run_id=run.pk)
    again = worker_execution.InFlight(run_id=run.pk)
    loop._in_flight[run.pk] = again  # claimed again by another thread
    monkeypatch.setattr(loop, "execute_run", lambda run, flight: None)
    monkeypatch.setattr(loop, "_claim_following", lambda: None)

    loop._execute_in_pool(run, first)

    assert loop._in_flight == {run.pk: again}
    assert loop.hand_back_strays() == []
    run.refresh_from_db()
    assert run.status == JobRun.Status.RUNNING


def test_a_heartbeat_keeps_runs_in_flight_and_renews_their_leases(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    now: datetime,
) -> None:
    """One UPDATE moves the lease of every run the worker executes."""
    run = _queue(loop, make_job(), now)
    loop._in_flight[run.pk] = worker_execution.InFlight(run_id=run.pk)
    before = loop._in_flight[run.pk].lease.renewed_at
    clock.advance(10)
    loop.heartbeat()
    run.refresh_from_db()
    assert run.status == JobRun.Status.RUNNING
    assert run.lease_expires_at == clock.now + timedelta(seconds=60)
    assert loop._in_flight[run.pk].lease.renewed_at >= before
    loop._in_flight.clear()


def test_a_run_is_not_taken_over_before_its_lease_runs_out(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
    now: datetime,
) -> None:
    """A silent worker's run on another host stays active until its lease ends."""
    dead, alive = make_loop("dead"), make_loop("alive")
    dead.register()
    alive.register()
    job = make_job(max_concurrent=1, retry_on_lost=True, retry_max_attempts=2)
    run = _queue(dead, job, now)
    JobRun.objects.filter(pk=run.pk).update(
        host="elsewhere", lease_expires_at=now + timedelta(seconds=90)
    )
    clock.advance(61)
    alive.heartbeat()
    assert alive.recover_lost_runs() == 0
    run.refresh_from_db()
    assert run.status == JobRun.Status.RUNNING
    clock.advance(30)
    alive.heartbeat()
    assert alive.recover_lost_runs() == 1
    run.refresh_from_db()
    assert (run.status, run.reason_code) == (JobRun.Status.LOST, reasons.WORKER_LOST)


def _tree() -> tuple[subprocess.Popen[bytes], int]:
    """Start a stand-in supervisor with a setsid child; return it and the child."""
    head = subprocess.Popen(
        ["/bin/bash", "-c", f"setsid {sys.executable} -c '{SLEEPER}' & echo $!; wait"],
        stdout=subprocess.PIPE,
    )
    assert head.stdout is not None
    return head, int(head.stdout.readline())


def test_same_host_recovery_ends_the_tree_before_marking_the_run_lost(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
    now: datetime,
) -> None:
    """The dead worker's supervisor and its setsid descendant end first."""
    dead, alive = make_loop("dead"), make_loop("alive")
    dead.register()
    alive.register()
    run = _queue(dead, make_job(retry_on_lost=True, retry_max_attempts=2), now)
    head, child = _tree()
    try:
        JobRun.objects.filter(pk=run.pk).update(
            host=socket.gethostname(),
            boot_id=process_tree.boot_id(),
            supervisor_pid=head.pid,
            supervisor_started=process_tree.start_time(head.pid),
            lease_expires_at=now + timedelta(seconds=600),
        )
        clock.advance(61)
        alive.heartbeat()
        assert alive.recover_lost_runs() == 1
        head.wait(timeout=5)
        assert process_tree.is_alive(child) is False
        run.refresh_from_db()
        assert run.status == JobRun.Status.LOST
        assert JobRun.objects.filter(attempt=2, status=JobRun.Status.QUEUED).exists()
    finally:
        process_tree.signal_all([head.pid, child], 9)
        head.wait(timeout=5)


def test_a_recycled_supervisor_pid_is_never_killed(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
    now: datetime,
) -> None:
    """A recorded pid now held by another process (other start time) lives on."""
    dead, alive = make_loop("dead"), make_loop("alive")
    dead.register()
    alive.register()
    run = _queue(dead, make_job(), now)
    other = subprocess.Popen([sys.executable, "-c", SLEEPER])
    try:
        started = process_tree.start_time(other.pid)
        assert started is not None
        JobRun.objects.filter(pk=run.pk).update(
            host=socket.gethostname(),
            boot_id=process_tree.boot_id(),
            supervisor_pid=other.pid,
            supervisor_started=started - 1,
        )
        clock.advance(61)
        alive.heartbeat()
        assert alive.recover_lost_runs() == 1
        time.sleep(0.05)  # a kill, had one been sent, lands at once
        assert process_tree.is_alive(other.pid) is True
    finally:
        other.kill()
        other.wait(timeout=5)


def test_a_worker_starting_ends_the_leftover_tree_of_a_lost_run(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
) -> None:
    """Leftovers of runs marked lost on this host end when a worker starts."""
    job = make_job()
    head, child = _tree()
    try:
        JobRun.objects.create(
            job=job,
            scheduled_for=now,
            trigger=JobRun.Trigger.SCHEDULE,
            status=JobRun.Status.LOST,
            queued_at=now,
            not_before=now,
            finished_at=now,
            host=socket.gethostname(),
            boot_id=process_tree.boot_id(),
            supervisor_pid=head.pid,
            supervisor_started=process_tree.start_time(head.pid),
        )
        make_loop("fresh").register()
        head.wait(timeout=5)
        assert process_tree.is_alive(child) is False
    finally:
        process_tree.signal_all([head.pid, child], 9)
        head.wait(timeout=5)


def test_an_unrenewed_lease_ends_the_script_and_the_run_is_lost_and_retried(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
) -> None:
    """No heartbeat for half the lease: the supervisor ends the script itself."""
    loop = make_loop("stalled", lost_after_seconds=1.0)
    loop.register()
    job = make_job(
        script="nap.py", env={"NAP": "30"}, retry_on_lost=True, retry_max_attempts=2
    )
    run = _queue(loop, job, now)
    started = time.monotonic()
    loop.execute_run(run)
    assert time.monotonic() - started < 5
    run.refresh_from_db()
    assert (run.status, run.reason_code) == (JobRun.Status.LOST, reasons.LEASE_EXPIRED)
    assert run.supervisor_pid is not None
    assert JobRun.objects.filter(attempt=2, status=JobRun.Status.QUEUED).exists()


def test_a_run_whose_lease_ran_out_before_its_start_never_starts(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
) -> None:
    """Stalled between claim and start: the script is not started at all."""
    loop = make_loop("paused", lost_after_seconds=1.0)
    loop.register()
    run = _queue(loop, make_job(retry_on_lost=True), now)
    flight = worker_execution.InFlight(run_id=run.pk)
    flight.lease.renewed_at -= 10
    loop.execute_run(run, flight=flight)
    run.refresh_from_db()
    assert (run.status, run.reason_code, run.supervisor_pid) == (
        JobRun.Status.LOST,
        reasons.LEASE_EXPIRED,
        None,
    )


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="pg_terminate_backend is PostgreSQL's"
)
@pytest.mark.django_db(transaction=True)
def test_a_terminated_connection_before_the_start_hands_the_run_back(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real connection termination during preflight: queued again, then runs."""
    monkeypatch.setattr(worker_execution, "close_connection", connection.close)
    real = execution.run_prepare
    calls: list[int] = []

    def terminated(**kwargs: Any) -> Any:
        if not calls:
            calls.append(1)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return real(**kwargs)

    monkeypatch.setattr(execution, "run_prepare", terminated)
    run = _queue(loop, make_job(), now)
    loop.execute_run(run)
    _assert_queued_again(run)
    assert loop.claim_runs(1) == [run]
    loop.execute_run(run)
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_a_script_killed_with_its_supervisor_from_outside_is_lost_not_failed(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
) -> None:
    """Same-host recovery ends a live worker's tree: the owner records `lost`.

    The fault run saw the owner record such a run `failed` (signal 9) in
    the instant between recovery's tree end and its mark-lost.
    """
    loop = make_loop("slow", output_interval_seconds=0.05)
    loop.register()
    job = make_job(
        script="nap.py", env={"NAP": "30"}, retry_on_lost=True, retry_max_attempts=2
    )
    run = _queue(loop, job, now)
    loop.start_runs([run])
    pid = eventually(
        lambda: JobRun.objects.get(pk=run.pk).supervisor_pid, timeout=EXIT_TIMEOUT
    )
    started = process_tree.start_time(pid)
    assert started is not None
    assert process_tree.tree_end(pid, started) is True
    eventually(
        lambda: JobRun.objects.get(pk=run.pk).status != JobRun.Status.RUNNING,
        timeout=EXIT_TIMEOUT,
    )
    run.refresh_from_db()
    assert (run.status, run.reason_code) == (JobRun.Status.LOST, reasons.WORKER_LOST)
    assert run.reason == MSG_SUPERVISOR_ENDED.format(worker="slow")
    # Retried as lost (the worker's own pool may have claimed it already).
    assert JobRun.objects.filter(attempt=2).exists()
    loop.stop.set()
    loop.shutdown()


def test_a_worker_whose_heartbeat_is_stale_claims_nothing_until_it_beats(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
) -> None:
    """Resumed after a stall (SIGSTOP): no claim before a fresh heartbeat.

    Other workers may be taking its runs over as lost at that moment; the
    fault run saw a resumed worker's pool threads claim runs that recovery
    on the same host then ended.
    """
    loop = make_loop("resumed", lost_after_seconds=6.0)
    loop.register()
    run = job_run_now(job=make_job(), requested_by=None, now=now)
    assert loop._beat_at is not None
    loop._beat_at -= 10
    assert loop.claim_runs(1) == []
    assert JobRun.objects.get(pk=run.pk).status == JobRun.Status.QUEUED
    loop.heartbeat()
    assert loop.claim_runs(1) == [run]


def test_a_claimed_run_not_started_yet_is_not_taken_over_before_its_lease(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
    now: datetime,
) -> None:
    """The claim starts the lease: no gap before the supervisor is recorded.

    Claimed 30 s after the worker's last heartbeat and stalled before its
    start: the heartbeat is stale at 60 s, the lease holds until 90 s.
    """
    dead, alive = make_loop("dead"), make_loop("alive")
    dead.register()
    alive.register()
    clock.advance(30)
    run = _queue(dead, make_job(retry_on_lost=True, retry_max_attempts=2), now)
    assert run.lease_expires_at == clock.now + timedelta(seconds=60)
    clock.advance(31)
    alive.heartbeat()
    assert alive.recover_lost_runs() == 0
    assert JobRun.objects.get(pk=run.pk).status == JobRun.Status.RUNNING
    clock.advance(30)
    alive.heartbeat()
    assert alive.recover_lost_runs() == 1
    assert JobRun.objects.get(pk=run.pk).status == JobRun.Status.LOST
