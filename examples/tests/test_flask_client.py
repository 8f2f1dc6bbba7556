"""Example (b): a Flask service drives a live portal through its REST API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from flask.testing import FlaskClient

from accounts.models import APIKey
from accounts.roles import EDITOR
from accounts.services.api_keys import api_key_create
from examples.flask_client.app import create_app
from jobs.models import Job, JobRun

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def service(
    live_server: Any,
    make_user: Callable[..., User],
    scripts_dir: Path,
    now: datetime,
) -> FlaskClient:
    """The Flask service's test client, with an Editor's API key."""
    editor = make_user("reports-editor", EDITOR)
    _, key = api_key_create(
        api_key=APIKey(owner=editor, name="reports"), actor=editor, now=now
    )
    return create_app(live_server.url, key).test_client()


def test_the_service_creates_a_job_and_queues_a_run(service: FlaskClient) -> None:
    created = service.post("/reports", json={"name": "daily report", "script": "ok.py"})
    assert created.status_code == 201, created.get_data(as_text=True)
    job = Job.objects.get(pk=created.get_json()["job"])
    assert (job.name, job.script) == ("daily report", "ok.py")
    assert job.owner is not None
    assert job.owner.username == "reports-editor"

    queued = service.post(f"/reports/{job.pk}/run", json={})
    assert queued.status_code == 202, queued.get_data(as_text=True)
    run = JobRun.objects.get(pk=queued.get_json()["run"])
    assert (run.job_id, run.status) == (job.pk, JobRun.Status.QUEUED)

    shown = service.get(f"/runs/{run.pk}")
    assert shown.get_json() == {"status": "queued"}


def test_the_portal_s_field_errors_come_back_as_they_are(
    service: FlaskClient,
) -> None:
    refused = service.post("/reports", json={"name": "bad", "script": "../etc/passwd"})

    assert refused.status_code == 400
    assert "script" in refused.get_json()
    assert Job.objects.exists() is False


def test_a_wrong_api_key_is_refused(live_server: Any) -> None:
    outsider = create_app(live_server.url, "jtp_wrong_key").test_client()

    assert (
        outsider.post("/reports", json={"name": "x", "script": "ok.py"}).status_code
        == 401
    )
