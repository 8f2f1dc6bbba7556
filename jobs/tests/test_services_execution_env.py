"""A job's environment cannot make an approved script run unapproved code.

Refused variables (`jobs.run_env`) planted in the database directly, past
the validation that refuses them at save, are dropped at run time, and the
interpreters start in modes that ignore them anyway: real runs, real
subprocesses, approval on.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from jobs import crypto, run_env
from jobs.models import Job, JobRun, Secret
from jobs.runner import ProcessSpec, interpreter_argv, run_process
from jobs.services.runs import job_run_now
from jobs.services.secrets import encryption_keys
from jobs.tests.conftest import FakeClock, stored_artifact_text
from jobs.tests.security_helpers import approved_script, make_user
from jobs.worker import WorkerLoop

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_approval")]

BUNDLED_SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
# Never approved: each writes a marker file when something runs it.
SITECUSTOMIZE = (
    "import pathlib\n"
    "pathlib.Path(__file__).with_name('pwned-python').write_text('pwned')\n"
)
SOURCED = 'echo pwned > "$(dirname "${BASH_SOURCE[0]}")/pwned-bash"\n'
APPROVED_SH = 'echo "approved $0"\n'


@pytest.fixture
def attack_files(worker_scripts: Path) -> Path:
    """Put the unapproved files and an approvable shell script in the folder."""
    (worker_scripts / "sitecustomize.py").write_text(SITECUSTOMIZE)
    (worker_scripts / "evil.sh").write_text(SOURCED)
    (worker_scripts / "approved.sh").write_text(APPROVED_SH)
    return worker_scripts


def run_once(loop: WorkerLoop, job: Job, now: datetime) -> JobRun:
    """Queue a run of `job`, claim it, execute it and return it as stored.

    The claimed instance runs, read with its job from the database (as the
    worker does), not the test's own `job` object.
    """
    queued = job_run_now(job=job, requested_by=None, now=now)
    [run] = loop.claim_runs(1)
    assert run == queued
    loop.execute_run(run)
    run.refresh_from_db()
    return run


def plant_env(job: Job, env: dict[str, str]) -> None:
    """Write `env` straight into the row, as an attacker with SQL would."""
    Job.objects.filter(pk=job.pk).update(env=env)


def script_env(artifacts_dir: Path, run: JobRun) -> dict[str, str]:
    """Return the environment env.py wrote down (collected as an artifact)."""
    text = stored_artifact_text(run, "env.txt")
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_the_pythonpath_attack_works_without_the_guard(attack_files: Path) -> None:
    """Control: plain `python ok.py` with PYTHONPATH imports sitecustomize."""
    env = {**os.environ, "PYTHONPATH": str(attack_files)}
    subprocess.run([sys.executable, str(attack_files / "ok.py")], env=env, check=True)
    assert (attack_files / "pwned-python").exists() is True


def test_the_bash_env_attack_works_without_the_guard(attack_files: Path) -> None:
    """Control: plain `bash approved.sh` with BASH_ENV sources the file."""
    env = {**os.environ, "BASH_ENV": str(attack_files / "evil.sh")}
    subprocess.run(
        ["bash", str(attack_files / "approved.sh")],  # noqa: S607
        env=env,
        check=True,
        capture_output=True,
    )
    assert (attack_files / "pwned-bash").exists() is True


def test_pythonpath_planted_in_the_database_imports_no_unapproved_module(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    attack_files: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The approved script runs; sitecustomize.py never does; the drop is logged."""
    job = make_job()
    approved_script("ok.py", by=make_user("alice", approver=True), now=clock.now)
    plant_env(job, {"PYTHONPATH": str(attack_files), "REGION": "apac"})

    with caplog.at_level(logging.WARNING, logger="jobs.services.execution"):
        run = run_once(loop, job, clock.now)

    assert (run.status, run.output) == (JobRun.Status.SUCCEEDED, "ok\n")
    assert (attack_files / "pwned-python").exists() is False
    assert (
        f"Run {run.pk} of job {job.pk}: refused variables dropped from its "
        "environment (PYTHONPATH) and secrets (none)"
    ) in caplog.messages


def test_bash_env_planted_in_the_database_sources_no_unapproved_file(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    attack_files: Path,
) -> None:
    """The approved .sh runs; evil.sh is never sourced (nor ENV, nor functions)."""
    job = make_job(script="approved.sh")
    approved_script("approved.sh", by=make_user("alice", approver=True), now=clock.now)
    evil = str(attack_files / "evil.sh")
    plant_env(
        job,
        {
            "BASH_ENV": evil,
            "ENV": evil,
            "BASH_FUNC_echo%%": "() { builtin echo pwned > pwned-bash; }",
        },
    )

    run = run_once(loop, job, clock.now)

    assert run.status == JobRun.Status.SUCCEEDED
    assert run.output == f"approved {attack_files / 'approved.sh'}\n"
    assert (attack_files / "pwned-bash").exists() is False


@pytest.mark.parametrize("name", ["PYTHONPATH", "BASH_ENV"])
def test_the_interpreter_modes_alone_ignore_the_hooks(
    attack_files: Path, tmp_path: Path, name: str
) -> None:
    """Even given the variable (no run_env), -I and bash -p run no other code."""
    script = attack_files / ("ok.py" if name == "PYTHONPATH" else "approved.sh")
    value = str(attack_files) if name == "PYTHONPATH" else str(attack_files / "evil.sh")
    spec = ProcessSpec(
        argv=interpreter_argv(script, []),
        cwd=str(tmp_path),
        env={**os.environ, name: value},
        timeout_seconds=30,
    )
    result = run_process(spec)
    assert result.exit_code == 0
    assert sorted(p.name for p in attack_files.glob("pwned-*")) == []


def test_every_refused_name_planted_in_the_database_is_dropped(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    artifacts_dir: Path,
) -> None:
    """The script sees none of them; the job's other variables and PATH stay."""
    from jobs.tests.test_run_env import REFUSED

    job = make_job(script="env.py")
    approved_script("env.py", by=make_user("alice", approver=True), now=clock.now)
    planted = {name: "/planted" for name in REFUSED if "%" not in name}
    plant_env(job, {**planted, "REGION": "apac"})

    run = run_once(loop, job, clock.now)

    assert run.status == JobRun.Status.SUCCEEDED
    seen = script_env(artifacts_dir, run)
    assert sorted(set(planted) & set(seen)) == ["PATH"]
    assert seen["PATH"] == os.environ["PATH"]
    assert seen["REGION"] == "apac"


def test_refused_names_in_the_worker_environment_do_not_reach_scripts(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    artifacts_dir: Path,
    attack_files: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker's own LD_*/PYTHON*/BASH_ENV are dropped; its PATH is kept."""
    monkeypatch.setenv("PYTHONPATH", str(attack_files))
    monkeypatch.setenv("BASH_ENV", str(attack_files / "evil.sh"))
    monkeypatch.setenv("LD_LIBRARY_PATH", str(attack_files))
    monkeypatch.setenv("NODE_OPTIONS", "--require ./evil.js")
    job = make_job(script="env.py")
    approved_script("env.py", by=make_user("alice", approver=True), now=clock.now)

    run = run_once(loop, job, clock.now)

    seen = script_env(artifacts_dir, run)
    assert run.status == JobRun.Status.SUCCEEDED
    assert run_env.refused_names(seen) == ["PATH"]
    assert seen["PATH"] == os.environ["PATH"]
    assert (attack_files / "pwned-python").exists() is False


def test_the_run_context_and_parameters_still_reach_an_isolated_script(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    artifacts_dir: Path,
) -> None:
    """python -I keeps os.environ: JOB_* and JOB_PARAM_* are there."""
    job = make_job(script="env.py", env={"REGION": "apac"})
    approved_script("env.py", by=make_user("alice", approver=True), now=clock.now)
    job_run_now(job=job, requested_by=None, now=clock.now, parameters={"day": "mon"})
    [queued] = loop.claim_runs(1)
    loop.execute_run(queued)
    queued.refresh_from_db()

    seen = script_env(artifacts_dir, queued)
    assert queued.status == JobRun.Status.SUCCEEDED
    assert (seen["JOB_RUN_ID"], seen["JOB_ATTEMPT"], seen["JOB_NAME"]) == (
        str(queued.pk),
        "1",
        "job",
    )
    assert (seen["JOB_PARAM_DAY"], seen["REGION"]) == ("mon", "apac")


def test_a_secret_with_a_refused_name_planted_in_the_database_is_dropped(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    attack_files: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A secret called PYTHONPATH, written around validation, is not given."""
    secret = Secret.objects.create(
        name="PYTHONPATH",
        value_encrypted=crypto.encrypt(str(attack_files), keys=encryption_keys()),
    )
    job = make_job()
    job.secrets.add(secret)
    approved_script("ok.py", by=make_user("alice", approver=True), now=clock.now)

    with caplog.at_level(logging.WARNING, logger="jobs.services.execution"):
        run = run_once(loop, job, clock.now)

    assert (run.status, run.output) == (JobRun.Status.SUCCEEDED, "ok\n")
    assert (attack_files / "pwned-python").exists() is False
    assert (
        f"Run {run.pk} of job {job.pk}: refused variables dropped from its "
        "environment (none) and secrets (PYTHONPATH)"
    ) in caplog.messages


# Each bundled script, the arguments that make it quick, its exit code.
BUNDLED_RUNS = [
    ("hello.py", [], 0),
    ("fail_with_code.py", [], 2),
    ("long_task.py", ["0"], 0),
    ("disk_report.sh", [], 0),
    # The template library's scripts: their usage message (exit 1) proves their
    # imports load under -I; file_cleanup does a real dry run of the empty cwd.
    ("db_backup.py", [], 1),
    ("api_fetch.py", [], 1),
    ("report_generate.py", [], 1),
    ("file_cleanup.py", [".", "30", "--dry-run"], 0),
]


def test_every_bundled_script_is_tried_under_the_isolated_interpreters() -> None:
    """A new script in scripts/ needs its line in BUNDLED_RUNS."""
    shipped = sorted(path.name for path in BUNDLED_SCRIPTS.iterdir() if path.is_file())
    assert sorted(name for name, _, _ in BUNDLED_RUNS) == shipped


@pytest.mark.parametrize(("script", "args", "code"), BUNDLED_RUNS)
def test_the_bundled_scripts_run_under_the_isolated_interpreters(
    tmp_path: Path, script: str, args: list[str], code: int
) -> None:
    """-I and bash -p break none of scripts/."""
    env, _ = run_env.without_refused(dict(os.environ), keep=run_env.WORKER_KEPT)
    spec = ProcessSpec(
        argv=interpreter_argv(BUNDLED_SCRIPTS / script, args),
        cwd=str(tmp_path),
        env=env,
        timeout_seconds=30,
    )
    result = run_process(spec)
    assert (result.exit_code, result.error) == (code, "")
