"""Fixtures for the worker's tests: a fake clock, jobs, loops, real workers."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from jobportal.tests.clocks import FrozenClock
from jobs.models import Job, JobRun, RunArtifact
from jobs.storage import artifact_storage
from jobs.tests.factories import EVERY_MINUTE, JobFactory
from jobs.wakeup import NullWaiter, wakeup_file
from jobs.worker import WorkerLoop

# Tiny scripts the worker tests run, on top of the root conftest's ones.
WORKER_SCRIPTS = {
    # Sleeps for $NAP seconds (default 30) after saying so; the group dies
    # with it on timeout or cancel.
    "nap.py": (
        "import os, sys, time\n"
        "print('napping', os.getpid(), flush=True)\n"
        "time.sleep(float(os.environ.get('NAP', '30')))\n"
        "print('woke', flush=True)\n"
    ),
    # Writes its environment (as KEY=VALUE lines) and cwd to the artifacts dir.
    "env.py": (
        "import os, pathlib\n"
        "out = pathlib.Path(os.environ['JOB_ARTIFACTS_DIR']) / 'env.txt'\n"
        "lines = [f'{k}={v}' for k, v in sorted(os.environ.items())]\n"
        "lines.append('CWD=' + os.getcwd())\n"
        "out.write_text('\\n'.join(lines))\n"
        "print('wrote env', flush=True)\n"
    ),
    # Naps on its first attempt only: the retry of a lost run finishes.
    "first_naps.py": (
        "import os, pathlib, time\n"
        "if os.environ['JOB_ATTEMPT'] == '1':\n"
        "    marker = pathlib.Path(os.environ['NAP_PID_FILE'])\n"
        "    marker.write_text(str(os.getpid()))\n"
        "    time.sleep(30)\n"
        "print('attempt', os.environ['JOB_ATTEMPT'], flush=True)\n"
    ),
    "data/.keep": "",
}


@pytest.fixture(scope="session", autouse=True)
def _remove_wakeup_file() -> Iterator[None]:
    """Remove the SQLite test database's wakeup file when the session ends."""
    yield
    test_name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    path = wakeup_file({"NAME": test_name}) if test_name else None
    if connection.vendor == "sqlite" and path is not None:
        path.unlink(missing_ok=True)


# The worker tests' name for the one test clock (the root conftest's).
FakeClock = FrozenClock


@pytest.fixture
def worker_scripts(scripts_dir: Path) -> Path:
    """Add the worker tests' scripts to the scripts directory."""
    for name, text in WORKER_SCRIPTS.items():
        path = scripts_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return scripts_dir


@pytest.fixture
def artifacts_dir(tmp_path: Path, settings: Any) -> Path:
    """Point JOB_PORTAL_ARTIFACTS_DIR at a fresh folder."""
    root = tmp_path / "artifacts"
    settings.JOB_PORTAL_ARTIFACTS_DIR = root
    settings.JOB_PORTAL_RUN_STATE_DIR = tmp_path / "run-state"
    return root


@pytest.fixture
def clock(frozen_clock: FrozenClock) -> FrozenClock:
    """Return the frozen portal clock, for `WorkerLoop(clock=...)`."""
    return frozen_clock


@pytest.fixture
def make_job(
    worker_scripts: Path, artifacts_dir: Path, now: datetime
) -> Callable[..., Job]:
    """Return a function that saves a job through `JobFactory` (every minute)."""

    def make(
        name: str = "job",
        *,
        schedules: list[dict[str, Any]] | None = None,
        at: datetime | None = None,
        actor: User | None = None,
        **fields: Any,
    ) -> Job:
        return JobFactory.create(
            name=name,
            schedules=schedules or [EVERY_MINUTE],
            now=at or now,
            actor=actor,
            **fields,
        )

    return make


@pytest.fixture
def make_loop(clock: FakeClock) -> Iterator[Callable[..., WorkerLoop]]:
    """Return a function that builds worker loops on the fake clock."""
    loops: list[WorkerLoop] = []

    def make(name: str = "test-worker", **options: Any) -> WorkerLoop:
        options.setdefault("clock", clock)
        options.setdefault("concurrency", 2)
        options.setdefault("poll_seconds", 5.0)
        options.setdefault("grace_seconds", 0.0)
        options.setdefault("lost_after_seconds", 60.0)
        options.setdefault("kill_grace_seconds", 1.0)
        options.setdefault("waiter", NullWaiter())
        # Slots recorded exactly at their instant: tests step the clock.
        options.setdefault("prepare_seconds", 0.0)
        loop = WorkerLoop(stop=threading.Event(), name=name, **options)
        loops.append(loop)
        return loop

    yield make
    for loop in loops:
        # Stop anything a test left running, and stop waiting on a database
        # that the test's transaction may be holding.
        loop.stop.set()
        loop._abandon.set()
        for flight in list(loop._in_flight.values()):
            flight.cancel.set()
        loop._pool.shutdown(wait=True, cancel_futures=True)
        loop._doorbell.close()


@pytest.fixture
def loop(make_loop: Callable[..., WorkerLoop]) -> WorkerLoop:
    """Return a registered worker loop on the fake clock."""
    worker_loop = make_loop()
    worker_loop.register()
    return worker_loop


def load_scaled(seconds: float) -> float:
    """Return `seconds` stretched by how overloaded the machine is right now.

    A bound on how soon real processes act assumes they get a CPU to act
    on; with more runnable processes than cores (the 1-minute load average
    per core above 1, as on a shared 2-core CI machine), each gets only a
    share, so the bound grows by that factor. It never shrinks.
    """
    per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    return seconds * max(1.0, per_core)


def eventually(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    every: float = 0.05,
    context: Callable[[], str] | None = None,
) -> Any:
    """Poll `predicate` until it returns something truthy, or fail at `timeout`.

    For real subprocesses and threads, which no fake clock can drive.
    `context` adds to the failure message (a worker's log, say).
    """
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            extra = f"\n{context()}" if context else ""
            pytest.fail(f"Gave up after {timeout} s waiting for {predicate}{extra}")
        pause.wait(every)


def database_url() -> str:
    """Return a JOB_PORTAL_DB_URL for the test database (for subprocesses)."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    user = quote(params.get("USER") or "")
    password = params.get("PASSWORD") or ""
    auth = f"{user}:{quote(password)}@" if password else f"{user}@" if user else ""
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"postgres://{auth}{params.get('HOST') or ''}{port}/{params['NAME']}"


def run_statuses(job: Job) -> list[tuple[int, str]]:
    """Return (attempt, status) of the job's runs, oldest slot first."""
    runs = JobRun.objects.filter(job=job).order_by("scheduled_for", "attempt")
    return list(runs.values_list("attempt", "status"))


class WorkerProcesses:
    """Start `manage.py runworker` subprocesses against the test database."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        """Remember the environment and where logs go."""
        self.env = env
        # Not `self.logs`: that would hide the `logs()` method that failure
        # messages call.
        self.log_dir = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        """Start a worker with `args`; its output goes to a log file."""
        log = self.log_dir / f"worker-{len(self.procs)}.log"
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "runworker", *args],
            cwd=settings.BASE_DIR,
            env={**self.env, **env},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        proc.log = log  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def log(self, proc: subprocess.Popen[bytes]) -> str:
        """Return what the worker has logged so far."""
        return proc.log.read_text(errors="replace")  # type: ignore[attr-defined]

    def logs(self) -> str:
        """Return every worker's log so far, for failure messages."""
        return "\n".join(
            f"--- worker {i} (exit {proc.poll()}):\n{self.log(proc)}"
            for i, proc in enumerate(self.procs)
        )

    def stop_all(self) -> None:
        """Kill whatever is still running."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture
def worker_processes(
    transactional_db: None, worker_scripts: Path, artifacts_dir: Path, tmp_path: Path
) -> Iterator[WorkerProcesses]:
    """Start real workers that share the test database with the test."""
    env = {
        **os.environ,
        "JOB_PORTAL_DB_URL": database_url(),
        "JOB_PORTAL_SCRIPTS_DIR": str(worker_scripts),
        "JOB_PORTAL_ARTIFACTS_DIR": str(artifacts_dir),
        "JOB_PORTAL_RUN_STATE_DIR": str(tmp_path / "run-state"),
        "JOB_PORTAL_LOG_LEVEL": "INFO",
        "JOB_PORTAL_WORKER_POLL_INTERVAL": "1",
        "PYTHONUNBUFFERED": "1",
    }
    # Register the scripts up front, as an operator's `syncscripts` would:
    # runs of one new script starting at the same instant race to register
    # it (a unique-key error in script_sync_path, reported to its owner).
    call_command("syncscripts", stdout=io.StringIO())
    processes = WorkerProcesses(env, tmp_path)
    yield processes
    processes.stop_all()


def stored_artifact_text(run: JobRun, name: str) -> str:
    """Return the text of artifact `name` the worker collected from `run`."""
    artifact = RunArtifact.objects.get(run=run, name=name)
    with artifact_storage().open(artifact.storage_name, "rb") as handle:
        return bytes(handle.read()).decode()
