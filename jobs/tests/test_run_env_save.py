"""Refused environment variables at save: admin, API, import and secrets.

Every name of `jobs.run_env`'s list is refused with a message naming it,
wherever a job's environment or a secret's name is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.roles import ADMIN, EDITOR
from jobs import crypto, run_env
from jobs.models import Job, JobVersion, Secret
from jobs.services.secrets import encryption_keys, secret_save
from jobs.tests.factories import JobFactory
from jobs.tests.test_admin_jobs import job_form_data
from jobs.tests.test_run_env import REFUSED
from jobs.validators import MSG_REFUSED_SECRETS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

DOCUMENT = {
    "name": "nightly",
    "script": "ok.py",
    "timezone": "Asia/Hong_Kong",
    "schedules": [{"type": "daily", "time": "09:00"}],
}


def refused(name: str) -> str:
    """Return the message refusing `name`."""
    return run_env.MSG_REFUSED.format(name=name)


# A name with % is no valid variable name: refused for that reason first.
NAMES = [name for name in REFUSED if "%" not in name]


@pytest.fixture
def superuser_client(scripts_dir: Path, make_user: Callable[..., User]) -> Client:
    """Return the admin client of an Admin-role superuser."""
    client = Client()
    client.force_login(make_user("root", ADMIN, is_superuser=True))
    return client


def planted_secret(name: str) -> Secret:
    """Store a secret named `name` around validation, as SQL would."""
    return Secret.objects.create(
        name=name, value_encrypted=crypto.encrypt("x", keys=encryption_keys())
    )


@pytest.mark.parametrize("name", NAMES)
def test_the_admin_refuses_each_variable_naming_it(
    superuser_client: Client, name: str
) -> None:
    """The env field shows the message; no job is saved."""
    data = job_form_data(env=json.dumps({"REGION": "apac", name: "/x"}))

    response = superuser_client.post(reverse("admin:jobs_job_add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["env"] == [refused(name)]
    assert Job.objects.exists() is False


@pytest.mark.parametrize("name", NAMES)
def test_the_api_refuses_each_variable_naming_it(
    scripts_dir: Path, make_user: Callable[..., User], name: str
) -> None:
    """400 with the message under "env"; no job is saved."""
    client = APIClient()
    client.force_authenticate(make_user("ed", EDITOR))
    body = {**DOCUMENT, "env": {name: "/x"}}

    response = client.post("/api/jobs", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"env": [refused(name)]}
    assert Job.objects.exists() is False


@pytest.mark.parametrize("name", NAMES)
def test_import_refuses_each_variable_naming_it(
    scripts_dir: Path, tmp_path: Path, name: str
) -> None:
    """The command fails naming the job, the key and the variable; writes nothing."""
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps([{**DOCUMENT, "env": {name: "/x"}}]))

    with pytest.raises(CommandError) as caught:
        call_command("importjobs", str(path))

    assert refused(name) in str(caught.value)
    assert "env" in str(caught.value)
    assert Job.objects.exists() is False


def test_the_api_refuses_a_change_that_adds_a_variable(
    scripts_dir: Path, make_user: Callable[..., User]
) -> None:
    """PATCH is held to the same rule as create."""
    client = APIClient()
    client.force_authenticate(make_user("ed", EDITOR))
    created = client.post("/api/jobs", DOCUMENT, format="json").json()

    response = client.patch(
        f"/api/jobs/{created['id']}", {"env": {"LD_PRELOAD": "/x.so"}}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"env": [refused("LD_PRELOAD")]}
    assert Job.objects.get().env == {}


@pytest.mark.parametrize("name", NAMES)
def test_a_secret_with_a_refused_name_is_refused_in_the_admin(
    superuser_client: Client, name: str
) -> None:
    """The secret form names the variable; nothing is stored."""
    response = superuser_client.post(
        reverse("admin:jobs_secret_add"), {"name": name, "value": "v"}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"] == [refused(name)]
    assert Secret.objects.exists() is False


def test_the_api_refuses_to_give_a_job_a_planted_secret(
    scripts_dir: Path, make_user: Callable[..., User]
) -> None:
    """A secret saved around validation cannot be attached by name."""
    planted_secret("LD_PRELOAD")
    client = APIClient()
    client.force_authenticate(make_user("ada", ADMIN))
    body = {**DOCUMENT, "secrets": ["LD_PRELOAD"]}

    response = client.post("/api/jobs", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "secrets": [MSG_REFUSED_SECRETS.format(message=refused("LD_PRELOAD"))]
    }


def test_import_refuses_to_give_a_job_a_planted_secret(
    scripts_dir: Path, tmp_path: Path
) -> None:
    """Same rule in importjobs."""
    planted_secret("BASH_ENV")
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps([{**DOCUMENT, "secrets": ["BASH_ENV"]}]))

    with pytest.raises(CommandError) as caught:
        call_command("importjobs", str(path))

    assert refused("BASH_ENV") in str(caught.value)
    assert Job.objects.exists() is False


def test_the_admin_refuses_to_give_a_job_a_planted_secret(
    superuser_client: Client,
) -> None:
    """The job form's secrets field names the variable."""
    secret = planted_secret("PYTHONPATH")
    data: dict[str, Any] = job_form_data(secrets=[str(secret.pk)])

    response = superuser_client.post(reverse("admin:jobs_job_add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["secrets"] == [
        MSG_REFUSED_SECRETS.format(message=refused("PYTHONPATH"))
    ]
    assert Job.objects.exists() is False


def test_the_secret_service_refuses_a_refused_name(now: datetime) -> None:
    """secret_save validates the name whatever the caller."""
    with pytest.raises(ValidationError) as caught:
        secret_save(secret=Secret(name="NODE_OPTIONS"), value="v", now=now)

    assert caught.value.message_dict == {"name": [refused("NODE_OPTIONS")]}


def test_job_save_refuses_a_planted_secret_whatever_the_caller(
    scripts_dir: Path, now: datetime
) -> None:
    """The service holds the rule too: commands and restores go through it."""
    secret = planted_secret("LD_AUDIT")

    with pytest.raises(ValidationError) as caught:
        JobFactory.create(
            name="nightly",
            schedules=[{"type": "daily", "time": "09:00"}],
            now=now,
            secrets=[secret],
        )

    assert caught.value.message_dict == {
        "secrets": [MSG_REFUSED_SECRETS.format(message=refused("LD_AUDIT"))]
    }
    assert Job.objects.exists() is False


def test_restoring_a_version_with_a_refused_variable_is_refused(
    scripts_dir: Path, make_user: Callable[..., User], now: datetime
) -> None:
    """A version stored before the rule cannot bring the variable back: 400."""
    job = JobFactory.create(
        name="nightly", schedules=[{"type": "daily", "time": "09:00"}], now=now
    )
    version = JobVersion.objects.get(job=job)
    snapshot = {**version.snapshot, "env": {"BASH_ENV": "/srv/evil.sh"}}
    JobVersion.objects.filter(pk=version.pk).update(snapshot=snapshot)
    client = APIClient()
    client.force_authenticate(make_user("ada", ADMIN))

    response = client.post(f"/api/versions/{version.pk}/restore", {}, format="json")

    assert response.status_code == 400
    assert refused("BASH_ENV") in json.dumps(response.json())
    job.refresh_from_db()
    assert job.env == {}
