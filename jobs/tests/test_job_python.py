"""JOB_PORTAL_PYTHON: the interpreter of .py jobs, checked, still isolated."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from jobs import conf
from jobs.checks import check_job_python
from jobs.models import Job, JobRun
from jobs.services.runs import job_run_now
from jobs.worker import WorkerLoop

SHOW_PYTHON = "import sys\nprint(sys.executable, sys.flags.isolated)\n"


def test_unset_the_worker_s_own_interpreter_runs_python_jobs(settings: Any) -> None:
    settings.JOB_PORTAL_PYTHON = ""
    assert conf.job_python() == sys.executable
    del settings.JOB_PORTAL_PYTHON
    assert conf.job_python() == sys.executable


@pytest.mark.parametrize("kind", ["missing", "relative", "not executable", "folder"])
def test_a_python_that_cannot_run_is_reported_naming_the_variable(
    settings: Any, tmp_path: Path, kind: str
) -> None:
    plain = tmp_path / "python"
    plain.write_text("")
    value = {
        "missing": str(tmp_path / "nowhere" / "python3"),
        "relative": "python3",
        "not executable": str(plain),
        "folder": str(tmp_path),
    }[kind]
    settings.JOB_PORTAL_PYTHON = value

    (error,) = check_job_python(None)

    assert error.id == "jobs.E200"
    assert error.msg.startswith(f"JOB_PORTAL_PYTHON={value!r} is not an executable")


def test_an_executable_python_or_none_passes_the_check(settings: Any) -> None:
    settings.JOB_PORTAL_PYTHON = sys.executable
    assert check_job_python(None) == []
    settings.JOB_PORTAL_PYTHON = ""
    assert check_job_python(None) == []


@pytest.mark.django_db
def test_the_worker_runs_python_jobs_with_the_configured_python_isolated(
    settings: Any,
    tmp_path: Path,
    worker_scripts: Path,
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    now: datetime,
) -> None:
    other = tmp_path / "bin" / "python-for-jobs"
    other.parent.mkdir()
    os.symlink(sys.executable, other)
    settings.JOB_PORTAL_PYTHON = str(other)
    (worker_scripts / "show_python.py").write_text(SHOW_PYTHON)
    loop = make_loop()
    loop.register()
    run = job_run_now(job=make_job(script="show_python.py"), requested_by=None, now=now)
    (claimed,) = loop.claim_runs(1)

    loop.execute_run(claimed)

    run.refresh_from_db()
    assert (run.status, run.output) == (JobRun.Status.SUCCEEDED, f"{other} 1\n")
