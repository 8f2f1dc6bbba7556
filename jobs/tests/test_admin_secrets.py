"""The secret admin: the value is write-only and never in any page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from jobs.admin import secrets as secrets_admin
from jobs.models import Job, Secret
from jobs.services.jobs import job_save
from jobs.services.secrets import MSG_NO_VALUE_FOR_BACKEND, secret_value
from jobs.tests.security_helpers import make_secret, make_user

# "now" is pinned to 2026-03-01 00:00 UTC for every test here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

VALUE = "Tr0ub4dor&3-<value>"
CHANGED_AT = "value_changed_at"


@pytest.fixture
def client(settings: Any) -> Client:
    """Return a superuser's client."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = Client()
    client.force_login(make_user("root", superuser=True))
    return client


def pages_of(client: Client, secret: Secret) -> str:
    """Return the list, change and history pages of `secret`, concatenated."""
    urls = [
        reverse("admin:jobs_secret_changelist"),
        reverse("admin:jobs_secret_change", args=[secret.pk]),
        reverse("admin:jobs_secret_history", args=[secret.pk]),
    ]
    return "".join(client.get(url).content.decode() for url in urls)


def test_adding_a_secret_stores_it_encrypted_and_never_shows_it(
    client: Client, now: datetime
) -> None:
    """After saving: "set" and the date, in no page the value."""
    response = client.post(
        reverse("admin:jobs_secret_add"),
        {"name": "API_TOKEN", "description": "deploys", "value": VALUE},
        follow=True,
    )
    assert response.status_code == 200
    secret = Secret.objects.get(name="API_TOKEN")
    assert secret_value(secret=secret) == VALUE
    assert secret.value_changed_at == now
    html = response.content.decode() + pages_of(client, secret)
    assert "Tr0ub4dor" not in html
    assert secrets_admin.MSG_VALUE_SET in html


def test_a_new_secret_needs_a_value(client: Client) -> None:
    """The form says so; nothing is saved."""
    response = client.post(
        reverse("admin:jobs_secret_add"), {"name": "API_TOKEN", "value": ""}
    )
    assert escape(secrets_admin.MSG_VALUE_REQUIRED) in response.content.decode()
    assert not Secret.objects.exists()


def test_a_refused_form_does_not_send_the_value_back(client: Client) -> None:
    """A bad name re-shows the form with an empty value box."""
    response = client.post(
        reverse("admin:jobs_secret_add"), {"name": "bad-name", "value": VALUE}
    )
    html = response.content.decode()
    assert "not a valid environment variable name" in html
    assert "Tr0ub4dor" not in html


def test_saving_without_a_value_keeps_the_old_one(
    client: Client, now: datetime
) -> None:
    """An empty box means "unchanged"."""
    secret = make_secret("API_TOKEN", VALUE, now=now)
    client.post(
        reverse("admin:jobs_secret_change", args=[secret.pk]),
        {"name": "API_TOKEN", "description": "new text", "value": ""},
    )
    stored = Secret.objects.get(pk=secret.pk)
    assert (stored.description, secret_value(secret=stored)) == ("new text", VALUE)


def test_a_new_value_replaces_the_old_one(client: Client, now: datetime) -> None:
    """Typing a value changes it; the page still shows neither."""
    secret = make_secret("API_TOKEN", "old-value-123", now=now)
    client.post(
        reverse("admin:jobs_secret_change", args=[secret.pk]),
        {"name": "API_TOKEN", "description": "", "value": VALUE},
    )
    stored = Secret.objects.get(pk=secret.pk)
    assert secret_value(secret=stored) == VALUE
    html = pages_of(client, stored)
    assert "Tr0ub4dor" not in html
    assert "old-value-123" not in html


def test_a_secret_used_by_a_job_cannot_be_deleted(
    client: Client, scripts_dir: Path, now: datetime
) -> None:
    """No delete link, and the delete page is refused."""
    secret = make_secret("API_TOKEN", VALUE, now=now)
    job_save(
        job=Job(name="deploy", script="ok.py"),
        schedules=[{"type": "manual"}],
        now=now,
        secrets=[secret],
    )
    page = client.get(reverse("admin:jobs_secret_change", args=[secret.pk]))
    assert "deploy" in page.content.decode()
    delete = reverse("admin:jobs_secret_delete", args=[secret.pk])
    assert delete not in page.content.decode()
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Secret.objects.filter(pk=secret.pk).exists()


def test_an_unused_secret_is_deleted_through_the_service(
    client: Client, now: datetime
) -> None:
    """The delete page works for a secret no job uses."""
    secret = make_secret("API_TOKEN", VALUE, now=now)
    client.post(reverse("admin:jobs_secret_delete", args=[secret.pk]), {"post": "yes"})
    assert not Secret.objects.exists()


def test_a_vault_secret_is_added_with_a_reference_and_no_value(
    client: Client,
) -> None:
    """Backend and reference are saved; nothing is stored as a value."""
    response = client.post(
        reverse("admin:jobs_secret_add"),
        {"name": "API_TOKEN", "backend": "vault", "reference": "apps/billing#token"},
        follow=True,
    )
    assert response.status_code == 200
    secret = Secret.objects.get(name="API_TOKEN")
    assert (secret.backend, secret.reference) == ("vault", "apps/billing#token")
    assert secret.value_encrypted == ""


def test_a_value_for_a_backend_secret_is_refused(client: Client) -> None:
    """The form says the value lives in the backend; nothing is saved."""
    response = client.post(
        reverse("admin:jobs_secret_add"),
        {"name": "API_TOKEN", "backend": "aws", "reference": "prod/x", "value": VALUE},
    )
    message = MSG_NO_VALUE_FOR_BACKEND.format(backend="AWS Secrets Manager")
    assert escape(message) in response.content.decode()
    assert "Tr0ub4dor" not in response.content.decode()
    assert not Secret.objects.exists()
