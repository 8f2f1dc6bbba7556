"""Pre- and post-run hooks, run by the worker as real subprocesses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from accounts.roles import ADMIN
from jobs import hooks, reasons
from jobs.models import Job, JobRun, RunEvent
from jobs.services.approval import script_approve
from jobs.services.runs import job_run_now, run_request_cancel
from jobs.services.scripts import script_sync_path
from jobs.tests.conftest import eventually, stored_artifact_text
from jobs.tests.factories import JobFactory
from jobs.worker import WorkerLoop

pytestmark = pytest.mark.django_db

HOOK_SCRIPTS = {
    "pre_ok.py": "print('preparing')\n",
    "pre_fail.py": "import sys\nprint('no input file')\nsys.exit(3)\n",
    # Writes the outcome it was given where the test can read it.
    "post.py": (
        "import os, pathlib\n"
        "out = pathlib.Path(os.environ['JOB_ARTIFACTS_DIR']) / 'post.txt'\n"
        "out.write_text(os.environ['JOB_STATUS'] + ' ' + os.environ['JOB_EXIT_CODE'])\n"
        "print('cleaned up', os.environ['JOB_STATUS'])\n"
    ),
    # Proves the main script did not start.
    "main_marks.py": (
        "import os, pathlib\n"
        "(pathlib.Path(os.environ['JOB_ARTIFACTS_DIR']) / 'main.txt').write_text('x')\n"
        "print('main ran')\n"
    ),
}


@pytest.fixture
def hook_scripts(worker_scripts: Path) -> Path:
    """Add the hook tests' scripts to the scripts folder."""
    for name, text in HOOK_SCRIPTS.items():
        (worker_scripts / name).write_text(text)
    return worker_scripts


def execute(loop: WorkerLoop, job: Job, now: datetime) -> JobRun:
    """Queue a run of `job`, execute it to its end, return it fresh."""
    run = job_run_now(job=job, requested_by=None, now=now)
    assert loop.claim_runs(1) == [run]
    loop.execute_run(run)
    run.refresh_from_db()
    return run


@pytest.mark.usefixtures("hook_scripts")
def test_a_failing_pre_hook_fails_the_run_and_the_script_never_starts(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime, artifacts_dir: Path
) -> None:
    """pre_hook_failed, with the hook's output; no main.txt; the event says so."""
    job = make_job(script="main_marks.py", pre_hook="pre_fail.py")
    run = execute(loop, job, now)
    assert (run.status, run.reason_code, run.exit_code) == (
        JobRun.Status.FAILED,
        reasons.PRE_HOOK_FAILED,
        None,
    )
    assert run.reason == hooks.MSG_PRE_FAILED.format(
        path="pre_fail.py", ending="exited with 3"
    )
    assert (
        run.output == "----- pre-hook pre_fail.py: exited with 3 -----\nno input file\n"
    )
    assert not (artifacts_dir / str(run.pk) / "main.txt").exists()
    assert not run.artifacts.filter(name="main.txt").exists()
    event = RunEvent.objects.get(run=run)
    assert event.reason_code == reasons.PRE_HOOK_FAILED


@pytest.mark.usefixtures("hook_scripts")
def test_hooks_output_is_kept_with_the_runs_clearly_separated(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """Pre-hook, script and post-hook output, each under its header."""
    job = make_job(script="ok.py", pre_hook="pre_ok.py", post_hook="post.py")
    run = execute(loop, job, now)
    assert run.status == JobRun.Status.SUCCEEDED
    assert run.output == (
        "----- pre-hook pre_ok.py: exited with 0 -----\npreparing\n"
        "----- script -----\nok\n"
        "----- post-hook post.py: exited with 0 -----\ncleaned up succeeded\n"
    )


@pytest.mark.usefixtures("hook_scripts")
def test_the_post_hook_runs_after_a_failure_with_status_and_exit_code(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime, artifacts_dir: Path
) -> None:
    """fail.py exits 2: the post-hook gets JOB_STATUS=failed, JOB_EXIT_CODE=2."""
    job = make_job(script="fail.py", post_hook="post.py")
    run = execute(loop, job, now)
    assert (run.status, run.exit_code) == (JobRun.Status.FAILED, 2)
    written = stored_artifact_text(run, "post.txt")
    assert written == "failed 2"


@pytest.mark.usefixtures("hook_scripts", "require_approval")
def test_an_unapproved_hook_blocks_the_run_like_a_script(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    make_user: Callable[..., User],
) -> None:
    """The script is approved, the hook is not: the run is blocked, naming it."""
    job = make_job(script="ok.py", pre_hook="pre_ok.py")
    script = script_sync_path(path="ok.py", now=now)
    script_approve(script=script, actor=make_user("root", ADMIN), now=now)
    run = execute(loop, job, now)
    assert (run.status, run.reason_code) == (
        JobRun.Status.BLOCKED,
        reasons.SCRIPT_UNAPPROVED,
    )
    assert run.reason.startswith("The pre-hook cannot run: ")
    assert "pre_ok.py" in run.reason


def test_a_hook_outside_the_scripts_folder_is_refused_on_save(
    scripts_dir: Path, now: datetime
) -> None:
    """Hooks are checked like the script: a path outside is a field error."""
    with pytest.raises(ValidationError) as caught:
        JobFactory.create(pre_hook="../evil.py", now=now)
    assert list(caught.value.message_dict) == ["pre_hook"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("hook_scripts")
def test_the_post_hook_runs_after_a_users_cancel(
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
    artifacts_dir: Path,
) -> None:
    """A cancelled run still gets its clean-up, told JOB_STATUS=cancelled."""
    loop = make_loop(output_interval_seconds=0.05)
    loop.register()
    run = job_run_now(
        job=make_job(script="nap.py", post_hook="post.py"), now=now, requested_by=None
    )
    assert loop.claim_runs(1) == [run]
    loop.start_runs([run])
    eventually(lambda: "napping" in JobRun.objects.get(pk=run.pk).output, timeout=10)
    run_request_cancel(run=run, requested_by=None, now=now)
    assert loop.check_cancellations() == 1
    eventually(
        lambda: JobRun.objects.get(pk=run.pk).status == JobRun.Status.CANCELLED,
        timeout=10,
    )
    written = stored_artifact_text(run, "post.txt")
    # Its exit code is the signal that ended it (SIGTERM), as the run records.
    assert written == "cancelled -15"
    assert "----- post-hook post.py: exited with 0 -----" in (
        JobRun.objects.get(pk=run.pk).output
    )


@pytest.mark.usefixtures("hook_scripts")
def test_the_post_hook_runs_after_the_artifacts_limit_ended_the_script(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    worker_scripts: Path,
    settings: object,
) -> None:
    """The folder stays over the limit; the clean-up hook is not ended for it."""
    settings.JOB_PORTAL_ARTIFACTS_MAX_BYTES = 2**20  # type: ignore[attr-defined]
    (worker_scripts / "fill.py").write_text(
        "import os, pathlib, time\n"
        "d = pathlib.Path(os.environ['JOB_ARTIFACTS_DIR'])\n"
        "(d / 'big.bin').write_bytes(b'x' * 2**21)\n"
        "time.sleep(30)\n"
    )
    run = execute(loop, make_job(script="fill.py", post_hook="post.py"), now)
    assert (run.status, run.reason_code) == (
        JobRun.Status.FAILED,
        reasons.ARTIFACTS_TOO_LARGE,
    )
    assert "cleaned up failed" in run.output
