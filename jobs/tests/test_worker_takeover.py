"""Takeover with real workers: a stopped worker's run, and a killed worker's tree."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from django.utils import timezone

from jobs import process_tree, reasons
from jobs.models import Job, JobRun
from jobs.services.runs import job_run_now
from jobs.tests.conftest import WorkerProcesses, eventually, load_scaled

pytestmark = pytest.mark.django_db(transaction=True)

# Generous: a worker starting on a loaded 2-core machine takes a while.
EXIT_TIMEOUT = 40
FAST_LOSS = {"JOB_PORTAL_WORKER_LOST_AFTER": "2"}


def _napping_job(make_job: Callable[..., Job], pid_file: Path) -> Job:
    return make_job(
        script="first_naps.py",
        schedules=[{"type": "manual"}],
        env={"NAP_PID_FILE": str(pid_file)},
        retry_max_attempts=2,
        retry_delay_seconds=0,
        retry_on_lost=True,
    )


def test_a_stopped_worker_is_taken_over_and_never_records_over_the_retry(
    worker_processes: WorkerProcesses, make_job: Callable[..., Job], tmp_path: Path
) -> None:
    """SIGSTOP past lost-after: the script ends, the retry runs, SIGCONT drops."""
    pid_file = tmp_path / "nap.pid"
    job = _napping_job(make_job, pid_file)
    first = job_run_now(job=job, requested_by=None, now=timezone.now())
    stopped = worker_processes.start("--name", "stopped", **FAST_LOSS)
    eventually(pid_file.exists, timeout=EXIT_TIMEOUT, context=worker_processes.logs)
    script = int(eventually(pid_file.read_text, timeout=5))
    stopped.send_signal(signal.SIGSTOP)
    try:
        # Its supervisor hears of no lease renewal: it ends the script.
        eventually(
            lambda: not process_tree.is_alive(script),
            timeout=load_scaled(10),
            context=worker_processes.logs,
        )
        rescuer = worker_processes.start("--name", "rescuer", **FAST_LOSS)
        retry = eventually(
            lambda: JobRun.objects.filter(
                job=job, attempt=2, status=JobRun.Status.SUCCEEDED
            ).first(),
            timeout=EXIT_TIMEOUT,
            context=worker_processes.logs,
        )
    finally:
        stopped.send_signal(signal.SIGCONT)
    first.refresh_from_db()
    assert first.status == JobRun.Status.LOST
    assert first.reason_code == reasons.WORKER_LOST
    assert retry.started_at is not None
    assert first.finished_at is not None
    assert first.finished_at <= retry.started_at
    eventually(
        # Lost if its supervisor fenced first, failed if recovery ended it.
        lambda: (
            "was no longer running on stopped; its result"
            in worker_processes.log(stopped)
        ),
        timeout=EXIT_TIMEOUT,
        context=worker_processes.logs,
    )
    first.refresh_from_db()
    assert (first.status, first.reason_code) == (
        JobRun.Status.LOST,
        reasons.WORKER_LOST,
    )
    for proc in (stopped, rescuer):
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=EXIT_TIMEOUT) == 0, worker_processes.logs()


def test_kill_9_of_a_worker_ends_its_script_before_the_retry_starts(
    worker_processes: WorkerProcesses, make_job: Callable[..., Job], tmp_path: Path
) -> None:
    """The killed worker's script dies with it; attempt 2 runs on another."""
    pid_file = tmp_path / "nap.pid"
    job = _napping_job(make_job, pid_file)
    job_run_now(job=job, requested_by=None, now=timezone.now())
    doomed = worker_processes.start("--name", "doomed", **FAST_LOSS)
    eventually(pid_file.exists, timeout=EXIT_TIMEOUT, context=worker_processes.logs)
    script = int(eventually(pid_file.read_text, timeout=5))
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=EXIT_TIMEOUT)
    # Within a second of CPU time: stretched when the machine is overloaded.
    eventually(lambda: not process_tree.is_alive(script), timeout=load_scaled(1.0))
    rescuer = worker_processes.start("--name", "rescuer", **FAST_LOSS)
    eventually(
        lambda: JobRun.objects.filter(
            job=job, attempt=2, status=JobRun.Status.SUCCEEDED
        ).exists(),
        timeout=EXIT_TIMEOUT,
        context=worker_processes.logs,
    )
    rescuer.send_signal(signal.SIGTERM)
    assert rescuer.wait(timeout=EXIT_TIMEOUT) == 0
