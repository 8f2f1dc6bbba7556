"""The jobs API declares a job's run parameters, as the job document does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.roles import EDITOR
from jobs.models import Job, JobVersion
from jobs.parameters import MSG_NO_CHOICES
from jobs.services.parameters import MSG_PARAMETER_DUPLICATE, MSG_PARAMETER_KEYS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

LIST = "/api/jobs"
REGION = {
    "name": "region",
    "type": "choice",
    "required": True,
    "default": "apac",
    "choices": ["apac", "emea"],
    "description": "",
}
DOCUMENT = {
    "name": "nightly-export",
    "script": "ok.py",
    "schedules": [{"type": "daily", "time": "09:00"}],
    "parameters": [REGION, {"name": "limit", "type": "integer", "default": 5}],
}
LIMIT = {
    "name": "limit",
    "type": "integer",
    "required": False,
    "default": "5",
    "choices": [],
    "description": "",
}


@pytest.fixture
def client(make_user: Callable[..., User]) -> APIClient:
    """Return a client signed in as an Editor."""
    api = APIClient()
    api.force_authenticate(make_user("ed", EDITOR))
    return api


def test_create_declares_the_parameters_and_shows_them(
    client: APIClient, scripts_dir: Any
) -> None:
    """POST takes parameter documents; the answer and GET show them normalised."""
    response = client.post(LIST, DOCUMENT, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["parameters"] == [REGION, LIMIT]
    job = Job.objects.get()
    assert [(p.name, p.position) for p in job.parameters.all()] == [
        ("region", 0),
        ("limit", 1),
    ]
    shown = client.get(f"{LIST}/{job.pk}").json()
    assert shown["parameters"] == [REGION, LIMIT]
    assert JobVersion.objects.get(job=job).snapshot["parameters"] == [REGION, LIMIT]


def test_patch_without_parameters_keeps_them_and_put_without_drops_them(
    client: APIClient, scripts_dir: Any
) -> None:
    """A partial update keeps what it leaves out; a whole document is the job."""
    job_id = client.post(LIST, DOCUMENT, format="json").json()["id"]
    patched = client.patch(f"{LIST}/{job_id}", {"description": "x"}, format="json")
    assert patched.json()["parameters"] == [REGION, LIMIT]
    body = {key: value for key, value in DOCUMENT.items() if key != "parameters"}
    put = client.put(f"{LIST}/{job_id}", body, format="json")
    assert put.status_code == 200, put.json()
    assert put.json()["parameters"] == []


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ([{**REGION, "choices": []}], f"parameter 1: choices: {MSG_NO_CHOICES}"),
        (
            [REGION, {"name": "REGION", "type": "string"}],
            f"parameter 2: name: {MSG_PARAMETER_DUPLICATE}",
        ),
        (
            [{"name": "a", "kind": "string"}],
            "parameter 1: "
            + MSG_PARAMETER_KEYS.format(
                keys="kind",
                allowed="name, type, required, default, choices, description",
            ),
        ),
    ],
)
def test_a_bad_parameter_is_refused_naming_it(
    client: APIClient, scripts_dir: Any, parameters: list[Any], message: str
) -> None:
    """400 under "parameters" with the parameter's position; nothing saved."""
    body = {**DOCUMENT, "parameters": parameters}
    response = client.post(LIST, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"parameters": [message]}
    assert not Job.objects.exists()


def test_a_default_of_the_wrong_type_is_refused(
    client: APIClient, scripts_dir: Any
) -> None:
    """The model's own check of a default applies to the API too."""
    body = {
        **DOCUMENT,
        "parameters": [{"name": "n", "type": "integer", "default": "x"}],
    }
    response = client.post(LIST, body, format="json")
    assert response.status_code == 400
    [message] = response.json()["parameters"]
    assert message.startswith("parameter 1: default: ")
