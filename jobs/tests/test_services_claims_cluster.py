"""JOB_PORTAL_MAX_CONCURRENT_TOTAL: one cap on running runs across all workers."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import Error
from django.utils import timezone

from jobs import conf
from jobs.checks import MSG_MAX_CONCURRENT_TOTAL, check_cluster_limits
from jobs.models import Job, JobRun
from jobs.services.runs import job_run_now
from jobs.tests.conftest import WorkerProcesses, eventually
from jobs.worker import WorkerLoop

# Appends "<monotonic time> +1" when it starts and "... -1" when it ends.
CAP_SCRIPT = (
    "import os, pathlib, time\n"
    "log = pathlib.Path(os.environ['CAP_LOG'])\n"
    "with log.open('a') as f:\n"
    "    f.write(f'{time.monotonic()} 1\\n')\n"
    "time.sleep(float(os.environ.get('NAP', '0.6')))\n"
    "with log.open('a') as f:\n"
    "    f.write(f'{time.monotonic()} -1\\n')\n"
)


def most_at_once(log: Path) -> int:
    """Return the most scripts the log shows running at one time."""
    events = sorted(
        (float(at), int(step))
        for at, step in (line.split() for line in log.read_text().splitlines())
    )
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.django_db
@pytest.mark.parametrize(("value", "expected"), [(0, None), (None, None), (4, 4)])
def test_the_setting_reads_0_and_bad_values_as_no_cap(
    settings: Any, value: int | None, expected: int | None
) -> None:
    """0 (the default) and a bad value mean no cap."""
    settings.JOB_PORTAL_MAX_CONCURRENT_TOTAL = value
    assert conf.max_concurrent_total() == expected


@pytest.mark.parametrize("value", [None, -1])
def test_a_bad_cap_is_a_system_check_error_naming_the_variable(
    settings: Any, monkeypatch: pytest.MonkeyPatch, value: int | None
) -> None:
    """jobs.E120 with what the operator wrote."""
    monkeypatch.setenv("JOB_PORTAL_MAX_CONCURRENT_TOTAL", "lots")
    settings.JOB_PORTAL_MAX_CONCURRENT_TOTAL = value
    assert check_cluster_limits(None) == [
        Error(MSG_MAX_CONCURRENT_TOTAL.format(value="lots"), id="jobs.E120")
    ]


def test_no_cap_and_a_cap_are_no_check_error(settings: Any) -> None:
    """0 and 4 pass."""
    for value in (0, 4):
        settings.JOB_PORTAL_MAX_CONCURRENT_TOTAL = value
        assert check_cluster_limits(None) == []


@pytest.mark.django_db
def test_three_workers_of_concurrency_3_claim_only_up_to_the_cap(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    settings: Any,
    now: datetime,
) -> None:
    """Cap 4: 4 runs start of 12 queued; a finished run frees one place."""
    settings.JOB_PORTAL_MAX_CONCURRENT_TOTAL = 4
    job = make_job(concurrency_policy="allow", max_concurrent=20)
    for i in range(12):
        job_run_now(job=job, requested_by=None, now=now - timedelta(microseconds=i))
    loops = [make_loop(f"w{i}", concurrency=3) for i in range(3)]
    for loop in loops:
        loop.register()

    claimed = [len(loop.claim_runs(3)) for loop in loops]

    assert claimed == [3, 1, 0]
    running = JobRun.objects.filter(status=JobRun.Status.RUNNING)
    assert running.count() == 4
    done = running.order_by("pk")[0]
    JobRun.objects.filter(pk=done.pk).update(status=JobRun.Status.SUCCEEDED)
    assert [len(loop.claim_runs(3)) for loop in reversed(loops)] == [1, 0, 0]


@pytest.mark.django_db
def test_without_a_cap_each_worker_claims_its_own_capacity(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
) -> None:
    """The default: three workers of concurrency 3 run 9 at once."""
    job = make_job(concurrency_policy="allow", max_concurrent=20)
    for i in range(12):
        job_run_now(job=job, requested_by=None, now=now - timedelta(microseconds=i))
    loops = [make_loop(f"w{i}", concurrency=3) for i in range(3)]
    for loop in loops:
        loop.register()

    assert [len(loop.claim_runs(3)) for loop in loops] == [3, 3, 3]


@pytest.mark.django_db(transaction=True)
def test_three_real_workers_never_run_more_than_the_cap_at_once(
    worker_processes: WorkerProcesses,
    make_job: Callable[..., Job],
    worker_scripts: Path,
    tmp_path: Path,
) -> None:
    """Three runworker processes, --concurrency 3 each, cap 4, 16 runs queued.

    Counted twice: the database never shows more than 4 running, and the
    scripts' own log never shows more than 4 at once (and does reach 4).
    """
    (worker_scripts / "cap.py").write_text(CAP_SCRIPT)
    log = tmp_path / "cap.log"
    log.touch()
    job = make_job(
        script="cap.py",
        env={"CAP_LOG": str(log)},
        concurrency_policy="allow",
        max_concurrent=50,
        schedules=[{"type": "manual"}],
    )
    for _ in range(16):
        job_run_now(job=job, requested_by=None, now=timezone.now())
    for i in range(3):
        worker_processes.start(
            "--name",
            f"cap-{i}",
            "--concurrency",
            "3",
            JOB_PORTAL_MAX_CONCURRENT_TOTAL="4",
        )

    def all_done() -> bool:
        running = JobRun.objects.filter(status=JobRun.Status.RUNNING).count()
        peaks.append(running)
        return JobRun.objects.filter(status=JobRun.Status.SUCCEEDED).count() == 16

    peaks: list[int] = []
    started = time.monotonic()
    eventually(all_done, timeout=60, every=0.02, context=worker_processes.logs)

    assert max(peaks) <= 4
    assert most_at_once(log) == 4, worker_processes.logs()
    assert time.monotonic() - started < 60
