"""Secrets and parameters at run time: in the script's environment, masked after."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from jobs.models import Job, JobParameter, JobRun
from jobs.services import execution
from jobs.services.parameters import MSG_REQUIRED, parameters_validate
from jobs.services.runs import job_run_now
from jobs.services.secrets import MSG_UNREADABLE
from jobs.tests.security_helpers import database_text_holding, make_secret
from jobs.worker import WorkerLoop

pytestmark = pytest.mark.django_db

VALUE = "pa55-Word-7c1b"
# Prints its secret twice and its environment (KEY=VALUE lines) to a file.
LEAKY_SCRIPT = (
    "import os, pathlib\n"
    "token = os.environ['API_TOKEN']\n"
    "print('token is', token)\n"
    "print('again:' + token + '!')\n"
    "out = pathlib.Path(os.environ['JOB_ARTIFACTS_DIR']) / 'env.txt'\n"
    "out.write_text('\\n'.join(f'{k}={v}' for k, v in sorted(os.environ.items())))\n"
)


@pytest.fixture
def leaky(worker_scripts: Path) -> str:
    """Add leaky.py to the scripts directory."""
    (worker_scripts / "leaky.py").write_text(LEAKY_SCRIPT)
    return "leaky.py"


def run_once(
    loop: WorkerLoop, job: Job, now: datetime, parameters: dict[str, Any] | None = None
) -> JobRun:
    """Queue a run of `job`, claim it, execute it and return it as stored."""
    run = job_run_now(job=job, requested_by=None, now=now, parameters=parameters)
    assert loop.claim_runs(1) == [run]
    loop.execute_run(run)
    run.refresh_from_db()
    return run


def script_env(
    artifacts_dir: Path, run: JobRun, name: str = "env.txt"
) -> dict[str, str]:
    """Return the environment the script wrote down."""
    text = (artifacts_dir / str(run.pk) / name).read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_the_script_gets_its_secret_and_the_stored_output_masks_it(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    artifacts_dir: Path,
    leaky: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """API_TOKEN in the environment; every occurrence in the output is ***."""
    caplog.set_level(logging.DEBUG)
    job = make_job(script=leaky)
    job.secrets.set([make_secret("API_TOKEN", VALUE, now=now)])
    run = run_once(loop, job, now)
    assert run.status == JobRun.Status.SUCCEEDED
    assert script_env(artifacts_dir, run)["API_TOKEN"] == VALUE
    assert run.output == "token is ***\nagain:***!\n"
    assert database_text_holding(VALUE) == []
    assert VALUE not in caplog.text


def test_a_secret_that_cannot_be_decrypted_blocks_the_run(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    leaky: str,
    settings: Any,
) -> None:
    """Its key was removed: blocked with the reason, the script never starts."""
    job = make_job(script=leaky)
    job.secrets.set([make_secret("API_TOKEN", VALUE, now=now)])
    # A fresh key, so never the one the secret was encrypted with.
    settings.JOB_PORTAL_ENCRYPTION_KEY = Fernet.generate_key().decode()
    run = run_once(loop, job, now)
    assert run.status == JobRun.Status.BLOCKED
    assert run.reason.startswith(
        execution.MSG_BLOCKED_SECRETS.format(
            error=MSG_UNREADABLE.format(name="API_TOKEN", error="")
        )
    )
    assert run.output == ""


def declare(job: Job) -> None:
    """Give `job` three parameters: region (choice), batch (int), dry (bool)."""
    JobParameter.objects.create(
        job=job, name="region", type="choice", choices=["apac", "emea"], default="apac"
    )
    JobParameter.objects.create(job=job, name="batch", type="integer", is_required=True)
    JobParameter.objects.create(job=job, name="dry_run", type="boolean", default="no")


def test_validated_parameters_reach_the_script_as_job_param_variables(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime, artifacts_dir: Path
) -> None:
    """Text from a form: typed on the run, JOB_PARAM_<NAME> in the environment."""
    job = make_job(script="env.py")
    declare(job)
    values = parameters_validate(job=job, values={"batch": "500", "dry_run": "yes"})
    run = run_once(loop, job, now, values)
    assert run.parameters == {"region": "apac", "batch": 500, "dry_run": True}
    env = script_env(artifacts_dir, run)
    assert {k: v for k, v in env.items() if k.startswith("JOB_PARAM_")} == {
        "JOB_PARAM_REGION": "apac",
        "JOB_PARAM_BATCH": "500",
        "JOB_PARAM_DRY_RUN": "true",
    }


def test_a_run_without_values_gets_the_defaults_stored_and_injected(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime, artifacts_dir: Path
) -> None:
    """A scheduled run names no parameters: the defaults go on the run."""
    job = make_job(script="env.py")
    JobParameter.objects.create(job=job, name="region", type="string", default="apac")
    run = run_once(loop, job, now)
    assert run.parameters == {"region": "apac"}
    assert script_env(artifacts_dir, run)["JOB_PARAM_REGION"] == "apac"


def test_a_required_parameter_without_a_value_blocks_the_run(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime
) -> None:
    """A scheduled run of a job that needs a value: blocked, saying which."""
    job = make_job(script="env.py")
    declare(job)
    run = run_once(loop, job, now)
    assert (run.status, run.reason) == (
        JobRun.Status.BLOCKED,
        execution.MSG_BLOCKED_PARAMETERS.format(errors=f"batch: {MSG_REQUIRED}"),
    )


def test_preparing_a_run_without_parameters_or_secrets_needs_only_probes(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    """Most jobs have neither: three indexed probes, no ORM reads."""
    run = job_run_now(job=make_job(), requested_by=None, now=now)
    (run,) = loop.claim_runs(1)
    with django_assert_num_queries(3) as queries:
        assert execution.run_preflight(run=run, now=now) is None
        secrets = execution.run_secret_values(run=run)
        execution.run_process_spec(run=run, secrets=secrets)
    assert secrets == {}
    assert all(q["sql"].startswith("SELECT 1 FROM") for q in queries.captured_queries)
