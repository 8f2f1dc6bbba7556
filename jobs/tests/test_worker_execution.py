"""Executing claimed runs: real subprocesses, outcomes, environment, cancel."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from accounts.tests.factories import UserFactory
from jobs import reasons
from jobs.models import Job, JobRun
from jobs.policies import MSG_EXIT_CODE, MSG_TIMED_OUT, MSG_WORKER_ERROR
from jobs.runner import ProcessResult
from jobs.services import execution
from jobs.services.runs import (
    MSG_CANCELLED_BY,
    job_run_now,
    run_request_cancel,
)
from jobs.tests.conftest import FakeClock, eventually, stored_artifact_text
from jobs.worker import WorkerLoop
from jobs.worker import execution as worker_execution

pytestmark = pytest.mark.django_db


def claim_one(loop: WorkerLoop, job: Job, now: datetime, **params: object) -> JobRun:
    """Queue a run of `job` and claim it for `loop`."""
    run = job_run_now(job=job, requested_by=None, now=now, parameters=params or None)
    claimed = loop.claim_runs(1)
    assert claimed == [run]
    return claimed[0]


def test_a_script_that_exits_0_succeeds_with_its_output(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock, now: datetime
) -> None:
    """ok.py: succeeded, exit code 0, its output stored, finished at the clock."""
    run = claim_one(loop, make_job(), now)
    clock.advance(3)
    loop.execute_run(run)
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.output) == (
        JobRun.Status.SUCCEEDED,
        0,
        "ok\n",
    )
    assert (run.started_at, run.finished_at, run.reason) == (now, clock.now, "")


def test_a_non_zero_exit_fails_with_the_code(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """fail.py exits 2: failed, exit code 2, the reason says so."""
    run = claim_one(loop, make_job(script="fail.py"), now)
    loop.execute_run(run)
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.reason, run.output) == (
        JobRun.Status.FAILED,
        2,
        MSG_EXIT_CODE.format(code=2),
        "bad\n",
    )


def test_shell_scripts_run_with_bash_in_their_folder(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """nested/report.sh runs with bash."""
    run = claim_one(loop, make_job(script="nested/report.sh"), now)
    loop.execute_run(run)
    run.refresh_from_db()
    assert (run.status, run.output) == (JobRun.Status.SUCCEEDED, "report\n")


def read_env(artifacts_dir: Path, run: JobRun) -> dict[str, str]:
    """Return what env.py wrote for `run` (collected as an artifact)."""
    text = stored_artifact_text(run, "env.txt")
    return dict(line.split("=", 1) for line in text.splitlines())


def test_the_script_gets_the_run_context_and_not_the_portals_secrets(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    artifacts_dir: Path,
    worker_scripts: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """JOB_* context, job env and parameters in; JOB_PORTAL_*/DJANGO_* out."""
    monkeypatch.setenv("JOB_PORTAL_SECRET_KEY", "portal-secret")
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "jobportal.settings")
    monkeypatch.setenv("DATABASE_URL", "postgres://secret@db/x")
    monkeypatch.setenv("KEEP_ME", "kept")
    job = make_job("env job", script="env.py", env={"REGION": "apac"})
    run = claim_one(loop, job, now, batch_size=500, label="x y")
    loop.execute_run(run)
    env = read_env(artifacts_dir, run)
    assert {name: env[name] for name in env if name.startswith("JOB_")} == {
        "JOB_RUN_ID": str(run.pk),
        "JOB_NAME": "env job",
        "JOB_SCHEDULED_FOR": "2026-03-01T00:00:00+00:00",
        "JOB_ATTEMPT": "1",
        "JOB_ARTIFACTS_DIR": str(artifacts_dir / str(run.pk)),
        "JOB_PARAM_BATCH_SIZE": "500",
        "JOB_PARAM_LABEL": "x y",
    }
    assert (env["REGION"], env["KEEP_ME"]) == ("apac", "kept")
    assert "DATABASE_URL" not in env
    assert not [name for name in env if name.startswith("DJANGO_")]
    assert env["CWD"] == str(worker_scripts.resolve())


def test_working_dir_is_resolved_inside_the_scripts_directory(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    artifacts_dir: Path,
    worker_scripts: Path,
) -> None:
    """working_dir 'data' runs the script in scripts/data."""
    run = claim_one(loop, make_job(script="env.py", working_dir="data"), now)
    loop.execute_run(run)
    assert read_env(artifacts_dir, run)["CWD"] == str(
        (worker_scripts / "data").resolve()
    )


def test_a_script_gone_since_the_job_was_saved_blocks_the_run(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime, scripts_dir: Path
) -> None:
    """Resolved again before each run: a missing script gives `blocked`."""
    run = claim_one(loop, make_job(), now)
    (scripts_dir / "ok.py").unlink()
    loop.execute_run(run)
    run.refresh_from_db()
    assert run.status == JobRun.Status.BLOCKED
    assert run.reason == execution.MSG_BLOCKED_PATH.format(
        error="'ok.py' does not exist in the scripts directory."
    )
    assert run.started_at is None


def test_prepare_is_the_one_hook_that_can_block_a_run(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Blocked from run_prepare (e.g. script approval) blocks the run."""
    blocked = execution.Blocked("Not approved.", reasons.SCRIPT_UNAPPROVED)
    monkeypatch.setattr(execution, "run_prepare", lambda **_: blocked)
    run = claim_one(loop, make_job(), now)
    loop.execute_run(run)
    run.refresh_from_db()
    assert (run.status, run.reason) == (JobRun.Status.BLOCKED, "Not approved.")
    assert run.reason_code == reasons.SCRIPT_UNAPPROVED


def test_a_timeout_ends_the_whole_process_group(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """timeout 1 s on a 30 s nap: timed_out, and the script is gone."""
    run = claim_one(loop, make_job(script="nap.py", timeout_seconds=1), now)
    loop.execute_run(run)
    run.refresh_from_db()
    assert run.status == JobRun.Status.TIMED_OUT
    assert run.reason == MSG_TIMED_OUT.format(seconds=1)
    pid = int(run.output.split()[1])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_stored_output_masks_secrets(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The masking hook: a secret value never reaches the database."""
    monkeypatch.setattr(execution, "run_secret_values", lambda *, run: {"X": "ok"})
    run = claim_one(loop, make_job(), now)
    loop.execute_run(run)
    run.refresh_from_db()
    assert run.output == "***\n"


def test_an_error_inside_the_worker_fails_the_run_and_the_worker_goes_on(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The per-run boundary: a bug while running one run marks it failed."""

    def explode(*args: object, **kwargs: object) -> ProcessResult:
        raise RuntimeError("boom")

    job = make_job(retry_max_attempts=3)
    run = claim_one(loop, job, now)
    with monkeypatch.context() as patch:
        patch.setattr(worker_execution, "run_process", explode)
        loop.execute_run(run)
    run.refresh_from_db()
    assert (run.status, run.reason) == (
        JobRun.Status.FAILED,
        MSG_WORKER_ERROR.format(error="boom"),
    )
    assert JobRun.objects.count() == 1  # a worker error is not retried
    clock.advance(1)
    second = claim_one(loop, job, clock.now)
    loop.execute_run(second)
    second.refresh_from_db()
    assert second.status == JobRun.Status.SUCCEEDED


# --- threads: the pool, cancel and partial output ---------------------------------


def _first_line(run: JobRun) -> str:
    """Return the run's first complete output line, or '' before it is there."""
    head, newline, _ = run.output.partition("\n")
    return head if newline else ""


@pytest.mark.django_db(transaction=True)
def test_cancel_from_the_admin_stops_a_running_run_within_a_second(
    make_job: Callable[..., Job], make_loop: Callable[..., WorkerLoop], now: datetime
) -> None:
    """run_request_cancel -> the worker's next check ends the process group."""
    loop = make_loop(output_interval_seconds=0.05)
    loop.register()
    alice = UserFactory.create(username="alice")
    run = claim_one(loop, make_job(script="nap.py"), now)
    loop.start_runs([run])
    # Wait for the whole line: unbuffered, print() writes it in pieces.
    line = eventually(lambda: _first_line(JobRun.objects.get(pk=run.pk)), timeout=10)
    pid = int(line.split()[1])
    run_request_cancel(run=run, requested_by=alice, now=now)
    assert loop.check_cancellations() == 1
    eventually(
        lambda: JobRun.objects.get(pk=run.pk).status == JobRun.Status.CANCELLED,
        timeout=1.0,
    )
    run.refresh_from_db()
    assert run.reason == MSG_CANCELLED_BY.format(user="alice")
    assert run.cancel_requested_by == alice
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.django_db(transaction=True)
def test_partial_output_shows_while_the_run_is_running(
    make_job: Callable[..., Job], make_loop: Callable[..., WorkerLoop], now: datetime
) -> None:
    """The admin sees what a running script printed so far."""
    loop = make_loop(output_interval_seconds=0.05)
    loop.register()
    run = claim_one(loop, make_job(script="nap.py"), now)
    loop.start_runs([run])
    line = eventually(lambda: _first_line(JobRun.objects.get(pk=run.pk)), timeout=10)
    assert line.startswith("napping ")
    assert JobRun.objects.get(pk=run.pk).status == JobRun.Status.RUNNING
    loop.stop.set()
    loop.shutdown()


@pytest.mark.django_db(transaction=True)
def test_a_run_that_ends_hands_its_slot_to_the_next_queued_run(
    make_job: Callable[..., Job], make_loop: Callable[..., WorkerLoop], now: datetime
) -> None:
    """Concurrency 1, three queued: all run, one after another, no loop cycle."""
    loop = make_loop(concurrency=1)
    loop.register()
    jobs = [make_job(f"job-{i}") for i in range(3)]
    runs = [
        job_run_now(job=job, requested_by=None, now=now - timedelta(microseconds=i))
        for i, job in enumerate(jobs)
    ]
    loop.start_runs(loop.claim_runs(1))
    eventually(
        lambda: all(
            JobRun.objects.get(pk=run.pk).status == JobRun.Status.SUCCEEDED
            for run in runs
        ),
        timeout=20,
    )
    eventually(lambda: loop.free_capacity() == 1, timeout=5)
    started = sorted(
        JobRun.objects.filter(pk__in=[r.pk for r in runs]), key=lambda r: r.pk
    )
    assert loop.worker is not None
    assert [run.worker_id for run in started] == [loop.worker.pk] * 3
    loop.stop.set()
    loop.shutdown()


def test_a_run_whose_outcome_is_recorded_is_not_stopped_again(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """Its slot is held while the thread claims the next run: nothing to stop.

    A flight that is not finished but whose run ended elsewhere (taken over)
    is still stopped.
    """
    loop.register()
    run = claim_one(loop, make_job(), now)
    loop.execute_run(run)
    finished = worker_execution.InFlight(run_id=run.pk, finished=True)
    loop._in_flight[run.pk] = finished
    assert loop.check_cancellations() == 0
    assert not finished.cancel.is_set()
    taken = worker_execution.InFlight(run_id=run.pk)
    loop._in_flight[run.pk] = taken
    assert loop.check_cancellations() == 1
    assert taken.cancel.is_set()
