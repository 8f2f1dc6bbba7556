"""A worker's name on its host: never taken from a live (even stopped) process.

Real processes: the earlier holder of the name is a real process, stopped
with SIGSTOP like a paused worker, with a real process tree for its run.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from jobs import process_tree
from jobs.models import Job, JobRun, Worker
from jobs.services.runs import job_run_now
from jobs.services.workers import MSG_NAME_IN_USE, WorkerNameInUse
from jobs.worker import WorkerLoop

pytestmark = pytest.mark.django_db

SLEEPER = "import time; time.sleep(1000)"


@pytest.fixture
def stopped_process() -> Iterator[subprocess.Popen[bytes]]:
    """A live process stopped with SIGSTOP, like a paused worker."""
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER])
    proc.send_signal(signal.SIGSTOP)
    yield proc
    proc.kill()
    proc.wait(timeout=10)


def _held_by(proc: subprocess.Popen[bytes], name: str, at: datetime) -> Worker:
    """Record `proc` as the worker `name` on this host, registered at `at`."""
    return Worker.objects.create(
        name=name,
        host=socket.gethostname(),
        pid=proc.pid,
        started_at=at,
        last_heartbeat_at=at,
    )


def test_a_name_held_by_a_stopped_process_is_refused_and_its_run_left_alone(
    stopped_process: subprocess.Popen[bytes],
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
) -> None:
    """The restarted worker does not end the stopped one's supervisor tree."""
    worker = _held_by(stopped_process, "fixed", timezone.now())
    run = job_run_now(job=make_job(), requested_by=None, now=now)
    tree = subprocess.Popen([sys.executable, "-c", SLEEPER])
    try:
        started = process_tree.start_time(tree.pid)
        JobRun.objects.filter(pk=run.pk).update(
            status=JobRun.Status.RUNNING,
            worker=worker,
            started_at=now,
            host=socket.gethostname(),
            boot_id=process_tree.boot_id(),
            supervisor_pid=tree.pid,
            supervisor_started=started,
        )
        message = MSG_NAME_IN_USE.format(name="fixed", pid=stopped_process.pid)
        with pytest.raises(WorkerNameInUse, match=f"^{re.escape(message)}$"):
            make_loop("fixed").register()
        assert process_tree.is_alive(tree.pid, started) is True
        run.refresh_from_db()
        assert run.status == JobRun.Status.RUNNING
    finally:
        tree.kill()
        tree.wait(timeout=10)


def test_a_recycled_pid_does_not_hold_the_name(
    stopped_process: subprocess.Popen[bytes],
    make_loop: Callable[..., WorkerLoop],
) -> None:
    """A process that started after the row's registration is another one."""
    _held_by(stopped_process, "fixed", timezone.now() - timedelta(hours=1))
    worker = make_loop("fixed").register()
    assert worker.name == "fixed"


def test_runworker_says_the_name_is_in_use(
    stopped_process: subprocess.Popen[bytes],
) -> None:
    """The command refuses with the message, not a traceback."""
    _held_by(stopped_process, "fixed", timezone.now())
    message = MSG_NAME_IN_USE.format(name="fixed", pid=stopped_process.pid)
    with pytest.raises(CommandError) as raised:
        call_command("runworker", "--once", "--name", "fixed", "--no-notifications")
    assert str(raised.value) == message
