"""Script safety and approval where it matters: at save and right before a run."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from jobs import reasons, script_paths
from jobs.models import Job, JobRun, Script
from jobs.services import execution
from jobs.services.approval import (
    MSG_BLOCK_CHANGED,
    MSG_BLOCK_NEVER_APPROVED,
    script_approve,
)
from jobs.services.runs import job_run_now
from jobs.tests.conftest import FakeClock
from jobs.tests.security_helpers import approved_script, make_user
from jobs.worker import WorkerLoop

pytestmark = pytest.mark.django_db

# Writes a marker file next to itself, so a test can tell whether it ran.
MARKER_SCRIPT = (
    "import pathlib, sys\n"
    "pathlib.Path(sys.argv[0]).with_suffix('.ran').write_text('ran')\n"
    "print('outside ran')\n"
)


def run_once(loop: WorkerLoop, job: Job, now: datetime) -> JobRun:
    """Queue a run of `job` as its schedule would, claim, execute and return it.

    A scheduled run, not "Run now": the manual path refuses an unrunnable script
    before queueing, while these tests are about the worker's own checks.
    """
    run = job_run_now(
        job=job, requested_by=None, now=now, trigger=JobRun.Trigger.SCHEDULE
    )
    assert loop.claim_runs(1) == [run]
    loop.execute_run(run)
    run.refresh_from_db()
    return run


# --- path safety at save ------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("../outside.py", script_paths.MSG_OUTSIDE.format(path="../outside.py")),
        (
            "nested/../../outside.py",
            script_paths.MSG_OUTSIDE.format(path="nested/../../outside.py"),
        ),
        ("/etc/passwd", script_paths.MSG_ABSOLUTE.format(path="/etc/passwd")),
        ("escape.py", script_paths.MSG_OUTSIDE.format(path="escape.py")),
        ("nested", script_paths.MSG_NOT_FILE.format(path="nested")),
        ("pipe.py", script_paths.MSG_NOT_FILE.format(path="pipe.py")),
        (
            "notes.txt",
            script_paths.MSG_EXTENSION.format(path="notes.txt", allowed=".py, .sh"),
        ),
        ("nope.py", script_paths.MSG_MISSING.format(path="nope.py")),
        ("ok\0.py", script_paths.MSG_NUL),
    ],
)
def test_an_unsafe_script_path_is_refused_at_save_naming_the_problem(
    make_job: Callable[..., Job],
    scripts_dir: Path,
    tmp_path: Path,
    script: str,
    message: str,
) -> None:
    """Traversal, absolute paths, symlink escapes, folders, FIFOs, extensions."""
    (tmp_path / "outside.py").write_text(MARKER_SCRIPT)
    (scripts_dir / "escape.py").symlink_to(tmp_path / "outside.py")
    os.mkfifo(scripts_dir / "pipe.py")
    (scripts_dir / "notes.txt").write_text("hi")
    with pytest.raises(ValidationError) as caught:
        make_job(script=script)
    assert caught.value.message_dict["script"] == [message]
    assert not Job.objects.exists()


# --- path safety at run -------------------------------------------------------


def test_a_script_replaced_by_an_escaping_symlink_after_save_is_blocked(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    scripts_dir: Path,
    tmp_path: Path,
) -> None:
    """Saved as a real file, swapped for a link outside: blocked, never run."""
    job = make_job()
    outside = tmp_path / "outside.py"
    outside.write_text(MARKER_SCRIPT)
    (scripts_dir / "ok.py").unlink()
    (scripts_dir / "ok.py").symlink_to(outside)
    run = run_once(loop, job, now)
    assert run.status == JobRun.Status.BLOCKED
    assert run.reason == execution.MSG_BLOCKED_PATH.format(
        error=script_paths.MSG_OUTSIDE.format(path="ok.py")
    )
    assert run.started_at is None
    assert not outside.with_suffix(".ran").exists()


def test_a_folder_swapped_for_an_escaping_symlink_is_blocked(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    scripts_dir: Path,
    tmp_path: Path,
) -> None:
    """nested/ replaced by a link to another folder: nested/report.sh blocked."""
    job = make_job(script="nested/report.sh")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "report.sh").write_text("echo hijacked\n")
    (scripts_dir / "nested" / "report.sh").unlink()
    (scripts_dir / "nested").rmdir()
    (scripts_dir / "nested").symlink_to(elsewhere, target_is_directory=True)
    run = run_once(loop, job, now)
    assert (run.status, run.output) == (JobRun.Status.BLOCKED, "")
    assert "resolves outside the scripts directory" in run.reason


def test_a_script_turned_into_a_fifo_is_blocked(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime, scripts_dir: Path
) -> None:
    """Not a regular file any more: blocked with that reason."""
    job = make_job()
    (scripts_dir / "ok.py").unlink()
    os.mkfifo(scripts_dir / "ok.py")
    run = run_once(loop, job, now)
    assert (run.status, run.reason) == (
        JobRun.Status.BLOCKED,
        execution.MSG_BLOCKED_PATH.format(
            error=script_paths.MSG_NOT_FILE.format(path="ok.py")
        ),
    )


# --- approval at run ----------------------------------------------------------


@pytest.mark.usefixtures("require_approval")
def test_a_never_approved_script_is_blocked_and_registered_for_review(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """Approval required: blocked with the reason; the script waits for review."""
    run = run_once(loop, make_job(), now)
    assert (run.status, run.reason) == (
        JobRun.Status.BLOCKED,
        MSG_BLOCK_NEVER_APPROVED.format(path="ok.py"),
    )
    assert Script.objects.get(path="ok.py").status == Script.Status.PENDING


@pytest.mark.usefixtures("require_approval")
def test_an_approved_script_edited_on_disk_is_blocked_until_re_approved(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    now: datetime,
    scripts_dir: Path,
) -> None:
    """Approved: runs. Edited: blocked, saying why, pending. Re-approved: runs."""
    alice = make_user("alice", approver=True)
    job = make_job()
    approved_script("ok.py", by=alice, now=now)
    first = run_once(loop, job, clock.now)
    assert (first.status, first.output) == (JobRun.Status.SUCCEEDED, "ok\n")

    (scripts_dir / "ok.py").write_text("print('edited')\n")
    blocked = run_once(loop, job, clock.advance(60))
    assert blocked.status == JobRun.Status.BLOCKED
    assert blocked.reason == MSG_BLOCK_CHANGED.format(
        path="ok.py", date="2026-03-01", user="alice"
    )
    assert blocked.output == ""
    script = Script.objects.get(path="ok.py")
    assert script.status == Script.Status.PENDING

    script_approve(script=script, actor=alice, now=clock.advance(60))
    again = run_once(loop, job, clock.advance(60))
    assert (again.status, again.output) == (JobRun.Status.SUCCEEDED, "edited\n")


@pytest.mark.usefixtures("require_approval")
def test_prepare_hashes_the_file_at_run_time_not_at_the_last_sync(
    make_job: Callable[..., Job], now: datetime, scripts_dir: Path
) -> None:
    """No sync between the edit and the run: still caught by run_prepare."""
    job = make_job()
    approved_script("ok.py", by=make_user("alice", approver=True), now=now)
    run = job_run_now(job=job, requested_by=None, now=now)
    assert isinstance(execution.run_prepare(run=run, now=now), execution.Prepared)
    (scripts_dir / "ok.py").write_text("print('edited')\n")
    assert execution.run_prepare(run=run, now=now) == execution.Blocked(
        MSG_BLOCK_CHANGED.format(path="ok.py", date="2026-03-01", user="alice"),
        reasons.SCRIPT_UNAPPROVED,
    )
