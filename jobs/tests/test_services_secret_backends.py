"""Secrets kept in Vault (KV v2) or AWS Secrets Manager: fetched per run, masked."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.exceptions import ValidationError
from moto.server import ThreadedMotoServer
from pytest_httpserver import HTTPServer

from jobs import checks, reasons, secret_backends
from jobs.models import Job, JobRun, Secret
from jobs.models.secrets import MSG_NO_REFERENCE_FOR_BUILTIN
from jobs.services import execution
from jobs.services.runs import job_run_now
from jobs.services.secrets import (
    MSG_BACKEND_UNREADABLE,
    MSG_NO_VALUE_FOR_BACKEND,
    secret_save,
)
from jobs.tests.conftest import stored_artifact_text
from jobs.tests.security_helpers import database_text_holding
from jobs.worker import WorkerLoop

pytestmark = pytest.mark.django_db

VALUE = "vault-Kept-4e2a"
TOKEN = "hvs.test-token"
MOTO_PORT = 18121
SCRIPT = (
    "import os, pathlib\n"
    "token = os.environ['API_TOKEN']\n"
    "print('token is', token)\n"
    "out = pathlib.Path(os.environ['JOB_ARTIFACTS_DIR']) / 'token.txt'\n"
    "out.write_text(token)\n"
)


@pytest.fixture
def printer(worker_scripts: Path) -> str:
    """Add printer.py, which prints API_TOKEN and writes it to an artifact."""
    (worker_scripts / "printer.py").write_text(SCRIPT)
    return "printer.py"


@pytest.fixture
def vault(httpserver: HTTPServer, settings: Any) -> HTTPServer:
    """Point the Vault settings at a local server speaking KV v2."""
    settings.JOB_PORTAL_VAULT_ADDR = httpserver.url_for("/").rstrip("/")
    settings.JOB_PORTAL_VAULT_TOKEN = TOKEN
    settings.JOB_PORTAL_VAULT_MOUNT = "secret"
    return httpserver


@pytest.fixture
def aws(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run moto's Secrets Manager as a real local HTTP server; yield a client."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
    ):
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=MOTO_PORT)
    server.start()
    endpoint = f"http://127.0.0.1:{MOTO_PORT}"
    settings.JOB_PORTAL_AWS_REGION = "ap-east-1"
    settings.JOB_PORTAL_AWS_ENDPOINT_URL = endpoint
    try:
        yield boto3.client(
            "secretsmanager", region_name="ap-east-1", endpoint_url=endpoint
        )
    finally:
        server.stop()


def backend_secret(backend: str, reference: str, now: datetime) -> Secret:
    """Save a secret API_TOKEN kept in `backend` at `reference`."""
    secret = Secret(name="API_TOKEN", backend=backend, reference=reference)
    return secret_save(secret=secret, value=None, now=now)


def run_once(loop: WorkerLoop, job: Job, now: datetime) -> JobRun:
    """Queue a run of `job`, claim it, execute it and return it as stored."""
    run = job_run_now(job=job, requested_by=None, now=now, parameters=None)
    assert loop.claim_runs(1) == [run]
    loop.execute_run(run)
    run.refresh_from_db()
    return run


def test_a_vault_secret_reaches_the_script_and_is_masked(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    artifacts_dir: Path,
    printer: str,
    vault: HTTPServer,
) -> None:
    """GET /v1/secret/data/apps/billing with the token; data.data[key] is used."""
    vault.expect_request(
        "/v1/secret/data/apps/billing",
        method="GET",
        headers={"X-Vault-Token": TOKEN},
    ).respond_with_json({"data": {"data": {"api_token": VALUE}, "metadata": {}}})
    job = make_job(script=printer)
    job.secrets.set([backend_secret("vault", "apps/billing#api_token", now)])
    run = run_once(loop, job, now)
    assert run.status == JobRun.Status.SUCCEEDED, run.reason
    assert stored_artifact_text(run, "token.txt") == VALUE
    assert run.output == "token is ***\n"
    assert database_text_holding(VALUE) == []


def test_a_vault_refusal_blocks_the_run_naming_secret_and_backend(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    printer: str,
    vault: HTTPServer,
) -> None:
    """Vault answers 403: blocked, secrets_unreadable, the script never starts."""
    vault.expect_request("/v1/secret/data/apps/billing").respond_with_json(
        {"errors": ["permission denied"]}, status=403
    )
    job = make_job(script=printer)
    job.secrets.set([backend_secret("vault", "apps/billing#api_token", now)])
    run = run_once(loop, job, now)
    assert run.status == JobRun.Status.BLOCKED
    assert run.reason_code == reasons.SECRETS_UNREADABLE
    error = MSG_BACKEND_UNREADABLE.format(
        name="API_TOKEN",
        backend="HashiCorp Vault (KV v2)",
        error=secret_backends.MSG_HTTP.format(
            status=403, reference="apps/billing#api_token"
        ),
    )
    assert run.reason == execution.MSG_BLOCKED_SECRETS.format(error=error)
    assert run.output == ""


def test_an_aws_secret_json_key_reaches_the_script_and_is_masked(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    artifacts_dir: Path,
    printer: str,
    aws: Any,
) -> None:
    """GetSecretValue on moto's server; the JSON key picks the value."""
    aws.create_secret(
        Name="prod/billing", SecretString=json.dumps({"api_token": VALUE})
    )
    job = make_job(script=printer)
    job.secrets.set([backend_secret("aws", "prod/billing#api_token", now)])
    run = run_once(loop, job, now)
    assert run.status == JobRun.Status.SUCCEEDED, run.reason
    assert stored_artifact_text(run, "token.txt") == VALUE
    assert run.output == "token is ***\n"
    assert database_text_holding(VALUE) == []


def test_a_missing_aws_secret_blocks_the_run(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    printer: str,
    aws: Any,
) -> None:
    """No such secret id: blocked with secrets_unreadable, naming the backend."""
    job = make_job(script=printer)
    job.secrets.set([backend_secret("aws", "prod/absent", now)])
    run = run_once(loop, job, now)
    assert run.status == JobRun.Status.BLOCKED
    assert run.reason_code == reasons.SECRETS_UNREADABLE
    assert "Secret 'API_TOKEN' cannot be read from AWS Secrets Manager" in run.reason
    assert "ResourceNotFoundException" in run.reason


@pytest.mark.parametrize(
    ("backend", "reference", "message"),
    [
        (
            "vault",
            "apps/billing",
            secret_backends.MSG_VAULT_REFERENCE.format(value="apps/billing"),
        ),
        ("aws", "#key", secret_backends.MSG_AWS_REFERENCE.format(value="#key")),
        ("builtin", "apps/billing#x", MSG_NO_REFERENCE_FOR_BUILTIN),
    ],
)
def test_a_reference_that_does_not_fit_its_backend_is_refused(
    now: datetime, backend: str, reference: str, message: str
) -> None:
    """The reference field names what a reference looks like."""
    secret = Secret(name="API_TOKEN", backend=backend, reference=reference)
    with pytest.raises(ValidationError) as caught:
        secret_save(secret=secret, value="x" if backend == "builtin" else None, now=now)
    assert caught.value.message_dict == {"reference": [message]}


def test_a_backend_secret_takes_no_value(now: datetime) -> None:
    """A value for a Vault secret is refused: it is never stored here."""
    secret = Secret(name="API_TOKEN", backend="vault", reference="a#b")
    with pytest.raises(ValidationError) as caught:
        secret_save(secret=secret, value=VALUE, now=now)
    assert caught.value.message_dict == {
        "value": [MSG_NO_VALUE_FOR_BACKEND.format(backend="HashiCorp Vault (KV v2)")]
    }
    assert not Secret.objects.exists()


def test_a_vault_address_that_is_not_http_fails_check_e211(settings: Any) -> None:
    """Only http(s): a file: address would read local files."""
    settings.JOB_PORTAL_VAULT_ADDR = "file:///etc/passwd"
    errors = checks.check_vault_addr(None)
    message = secret_backends.MSG_VAULT_ADDR.format(value="file:///etc/passwd")
    assert [(error.id, error.msg) for error in errors] == [("jobs.E211", message)]
