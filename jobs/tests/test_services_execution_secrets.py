"""Secrets and parameters at run time: in the script's environment, masked after."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from jobs import reasons
from jobs.models import Job, JobParameter, JobRun
from jobs.services import execution
from jobs.services.parameters import MSG_REQUIRED, parameters_validate
from jobs.services.runs import job_run_now
from jobs.services.secrets import MSG_UNREADABLE, job_secret_values
from jobs.tests.conftest import stored_artifact_text
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
    """Return the environment the script wrote down (collected as an artifact)."""
    text = stored_artifact_text(run, name)
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
    with django_assert_num_queries(2) as queries:
        prepared = execution.run_prepare(run=run, now=now)
    assert isinstance(prepared, execution.Prepared)
    assert (prepared.parameters, prepared.spec.mask) == ({}, ())
    assert all(q["sql"].startswith("SELECT 1 FROM") for q in queries.captured_queries)


# --- run_prepare: every check once, nothing written --------------------------------


def claimed(loop: WorkerLoop, job: Job, now: datetime) -> JobRun:
    """Queue a run of `job` without parameters and claim it."""
    run = job_run_now(job=job, requested_by=None, now=now)
    assert loop.claim_runs(1) == [run]
    return run


def test_prepare_builds_the_spec_with_the_secrets_to_mask_and_writes_nothing(
    make_job: Callable[..., Job], loop: WorkerLoop, now: datetime, leaky: str
) -> None:
    """Prepared: the secret in the environment and in `mask`; the run unchanged."""
    job = make_job(script=leaky)
    job.secrets.set([make_secret("API_TOKEN", VALUE, now=now)])
    JobParameter.objects.create(job=job, name="region", type="string", default="apac")
    run = claimed(loop, job, now)
    prepared = execution.run_prepare(run=run, now=now)
    assert isinstance(prepared, execution.Prepared)
    assert prepared.parameters == {"region": "apac"}
    assert prepared.spec.mask == (VALUE,)
    assert prepared.spec.env["API_TOKEN"] == VALUE
    assert prepared.spec.env["JOB_PARAM_REGION"] == "apac"
    assert (run.parameters, JobRun.objects.get(pk=run.pk).parameters) == ({}, {})


def test_a_run_decrypts_its_secrets_once(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    leaky: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Checked, given to the script and masked from one decryption."""
    calls: list[Job] = []

    def counted(*, job: Job) -> dict[str, str]:
        calls.append(job)
        return job_secret_values(job=job)

    monkeypatch.setattr(execution, "job_secret_values", counted)
    job = make_job(script=leaky)
    job.secrets.set([make_secret("API_TOKEN", VALUE, now=now)])
    run = run_once(loop, job, now)
    assert (run.output, calls) == ("token is ***\nagain:***!\n", [job])


def test_prepare_blocks_with_a_reason_and_a_code(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    leaky: str,
    settings: Any,
) -> None:
    """Unreadable secrets, then invalid parameters, then a refused path."""
    job = make_job(script=leaky)
    job.secrets.set([make_secret("API_TOKEN", VALUE, now=now)])
    run = claimed(loop, job, now)
    settings.JOB_PORTAL_ENCRYPTION_KEY = Fernet.generate_key().decode()
    blocked = execution.run_prepare(run=run, now=now)
    assert isinstance(blocked, execution.Blocked)
    assert blocked.code == reasons.SECRETS_UNREADABLE
    declare(job)
    assert execution.run_prepare(run=run, now=now) == execution.Blocked(
        execution.MSG_BLOCKED_PARAMETERS.format(errors=f"batch: {MSG_REQUIRED}"),
        reasons.PARAMETERS_INVALID,
    )
    Job.objects.filter(pk=job.pk).update(script="../outside.py")
    run.job.refresh_from_db()
    blocked = execution.run_prepare(run=run, now=now)
    assert isinstance(blocked, execution.Blocked)
    assert blocked.code == reasons.PATH_REFUSED
    assert blocked.reason.startswith(execution.MSG_BLOCKED_PATH.format(error=""))
