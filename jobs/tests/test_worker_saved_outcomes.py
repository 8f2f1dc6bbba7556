"""A script that finished before its dead (or stalled) worker recorded it.

Real processes: a worker-like parent starts a script under the run
supervisor, reads that it finished, and is killed (SIGKILL) before it
records anything. Recovery on the same host then records the script's real
outcome, read from the file the supervisor saved, instead of "lost".
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from jobs import process_tree, reasons, run_outcomes
from jobs.models import Job, JobRun
from jobs.runner import ProcessResult
from jobs.services import workers
from jobs.services.runs import job_run_now
from jobs.tests.conftest import FakeClock, eventually
from jobs.worker import WorkerLoop

pytestmark = pytest.mark.django_db

# The worker-like parent: start the script, wait for its status, say the
# supervisor's pid, then hang until killed, never recording anything.
PARENT = """
import sys, time
from jobs.supervisor import spawn
handle = spawn(
    ["/bin/sh", "-c", sys.argv[3]],
    cwd="/",
    env={"PATH": "/usr/bin:/bin"},
    outcome_dir=sys.argv[1],
    outcome_key=sys.argv[2],
)
handle.control.settimeout(20)
while handle.exit_code is None:
    handle.take(handle.control.recv(4096))
print(handle.pid, flush=True)
time.sleep(1000)
"""


def _queue(loop: WorkerLoop, job: Job, now: datetime) -> JobRun:
    run = job_run_now(job=job, requested_by=None, now=now)
    assert loop.claim_runs(1) == [run]
    run.refresh_from_db()
    return run


@pytest.fixture
def die_after_finish(
    artifacts_dir: Path,
) -> Iterator[Callable[[JobRun, str], Path]]:
    """Run a script for `run` under a supervisor; kill -9 its parent after.

    Record the supervisor on the run as the worker would; return the file
    the supervisor saved the outcome in.
    """
    parents: list[subprocess.Popen[bytes]] = []
    state_dir = Path(django_settings.JOB_PORTAL_RUN_STATE_DIR)
    state_dir.mkdir(parents=True, exist_ok=True)

    def run_and_die(run: JobRun, command: str) -> Path:
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT, str(state_dir), str(run.pk), command],
            cwd=django_settings.BASE_DIR,
            stdout=subprocess.PIPE,
        )
        parents.append(parent)
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        started = process_tree.start_time(pid)
        assert started is not None
        JobRun.objects.filter(pk=run.pk).update(
            host=socket.gethostname(),
            boot_id=process_tree.boot_id(),
            supervisor_pid=pid,
            supervisor_started=started,
        )
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        # The supervisor dies with its worker (PR_SET_PDEATHSIG).
        eventually(lambda: not process_tree.is_alive(pid, started), timeout=10)
        path = run_outcomes.outcome_path(state_dir, str(run.pk), pid, started)
        assert path.exists()
        return path

    yield run_and_die
    for parent in parents:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=10)


def test_a_restarted_worker_records_the_saved_success_and_retries_nothing(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
    die_after_finish: Callable[[JobRun, str], Path],
) -> None:
    """kill -9 after the script exited: succeeded, with no retry run."""
    loop = make_loop("host-worker")
    loop.register()
    run = _queue(loop, make_job(retry_on_lost=True, retry_max_attempts=3), now)
    saved = die_after_finish(run, "exit 0")
    make_loop("host-worker").register()
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.reason_code) == (
        JobRun.Status.SUCCEEDED,
        0,
        "",
    )
    assert run.finished_at is not None
    assert JobRun.objects.count() == 1
    assert not saved.exists()


def test_lost_run_recovery_on_the_host_records_the_saved_failure(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
    now: datetime,
    die_after_finish: Callable[[JobRun, str], Path],
) -> None:
    """A failed exit is recorded as failed with its code, retried per policy."""
    dead, alive = make_loop("dead"), make_loop("alive")
    dead.register()
    alive.register()
    job = make_job(retry_on_lost=True, retry_max_attempts=2, retry_exit_codes=[])
    run = _queue(dead, job, now)
    die_after_finish(run, "exit 3")
    clock.advance(61)
    alive.heartbeat()
    assert alive.recover_lost_runs() == 0  # recorded as finished, not lost
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.reason_code) == (
        JobRun.Status.FAILED,
        3,
        reasons.EXIT_CODE,
    )
    assert not JobRun.objects.filter(status=JobRun.Status.LOST).exists()


def test_a_script_killed_with_its_worker_saves_nothing_and_is_lost(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
    tmp_path: Path,
) -> None:
    """No outcome of its own: the run is lost and retried as before."""
    loop = make_loop("host-worker")
    loop.register()
    run = _queue(loop, make_job(retry_on_lost=True, retry_max_attempts=2), now)
    state_dir = Path(django_settings.JOB_PORTAL_RUN_STATE_DIR)
    state_dir.mkdir(parents=True, exist_ok=True)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(state_dir), str(run.pk), "sleep 1000"],
        cwd=django_settings.BASE_DIR,
        stdout=subprocess.PIPE,
    )
    try:
        # The parent never prints (the script never ends); find its supervisor.
        sup = eventually(lambda: process_tree.descendants(parent.pid)[:1], timeout=10)[
            0
        ]
        started = process_tree.start_time(sup)
        JobRun.objects.filter(pk=run.pk).update(
            host=socket.gethostname(),
            boot_id=process_tree.boot_id(),
            supervisor_pid=sup,
            supervisor_started=started,
        )
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        eventually(lambda: not process_tree.is_alive(sup, started), timeout=10)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=10)
    assert list(state_dir.iterdir()) == []
    make_loop("host-worker").register()
    run.refresh_from_db()
    assert (run.status, run.reason_code) == (
        JobRun.Status.LOST,
        reasons.WORKER_RESTARTED,
    )
    assert JobRun.objects.filter(attempt=2).exists()


def test_recovery_elsewhere_cannot_read_the_file(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
    now: datetime,
    die_after_finish: Callable[[JobRun, str], Path],
) -> None:
    """Another host's recovery marks the run lost (at-least-once, documented)."""
    dead, alive = make_loop("dead"), make_loop("alive")
    dead.register()
    alive.register()
    run = _queue(dead, make_job(retry_on_lost=True, retry_max_attempts=2), now)
    die_after_finish(run, "exit 0")
    JobRun.objects.filter(pk=run.pk).update(lease_expires_at=now)
    clock.advance(61)
    lost = workers.runs_recover_lost(
        now=clock.now + timedelta(seconds=1),
        lost_after_seconds=60,
        exclude=alive.worker,
        host="another-host",
    )
    assert [r.pk for r in lost] == [run.pk]


@pytest.mark.parametrize(
    ("cancelled", "fenced", "ended"),
    [(True, False, False), (False, True, False), (False, False, True)],
)
def test_a_stop_that_crossed_the_scripts_own_exit_records_that_exit(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    cancelled: bool,
    fenced: bool,
    ended: bool,
) -> None:
    """The supervisor saved the exit (it had not signalled the script): not lost.

    In the fault run a shutdown's stop and the lease fence crossed a script
    that had just exited 0: recorded lost and run a second time.
    """
    run = job_run_now(job=make_job(), requested_by=None, now=now)
    run.supervisor_pid = os.getpid()
    run.supervisor_started = process_tree.start_time(os.getpid())
    assert run.supervisor_started is not None
    stopped = ProcessResult(
        exit_code=-15,
        timed_out=False,
        cancelled=cancelled,
        output="",
        dropped_bytes=0,
        duration_seconds=1.0,
        lease_expired=fenced,
        supervisor_ended=ended,
    )
    assert loop.executor._own_exit(run, stopped) == stopped
    state_dir = Path(django_settings.JOB_PORTAL_RUN_STATE_DIR)
    state_dir.mkdir(parents=True, exist_ok=True)
    path = run_outcomes.outcome_path(
        state_dir, str(run.pk), run.supervisor_pid, run.supervisor_started
    )
    run_outcomes.outcome_write(path, run_outcomes.SavedOutcome(0, finished_at=1.0))
    own = loop.executor._own_exit(run, stopped)
    assert (own.exit_code, own.cancelled, own.lease_expired, own.supervisor_ended) == (
        0,
        False,
        False,
        False,
    )
