"""Secrets: encrypted at rest, write-only, by name in jobs and exports, rotation."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent
from jobs import crypto
from jobs.api.serializers import MSG_NOT_IN_SECRETS, JobDocumentSerializer
from jobs.management.commands.rotatekey import MSG_DONE
from jobs.models import Job, JobVersion, Secret
from jobs.services.jobs import job_save
from jobs.services.secrets import (
    MSG_IN_USE,
    MSG_VALUE_REQUIRED,
    SecretInUseError,
    SecretUnreadableError,
    secret_delete,
    secret_save,
    secret_set_value,
    secret_value,
    secrets_rotate,
)
from jobs.services.transfer import JobImportError, jobs_export, jobs_import
from jobs.tests.factories import JobFactory
from jobs.tests.security_helpers import database_text_holding, make_secret
from jobs.validators import MSG_ENV_VARIABLE_NAME, MSG_RESERVED_NAME

pytestmark = pytest.mark.django_db

VALUE = "s3cr3t-VALUE-9f8e7d"
KEY_OLD = "u7Vnd0dBiCVXTuQ2f1lr0u_9sAcpl7Wg6kQ3X1mNnZw="
KEY_NEW = "Y2ktdGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcyE="
MANUAL = [{"type": "manual"}]


@pytest.fixture
def old_key(settings: Any) -> None:
    """Encrypt with KEY_OLD only."""
    settings.JOB_PORTAL_ENCRYPTION_KEY = KEY_OLD


def make_job(now: datetime, *secrets: Secret, name: str = "deploy") -> Job:
    """Save a manual job using `secrets`."""
    return JobFactory.create(name=name, schedules=MANUAL, now=now, secrets=secrets)


def test_a_value_is_stored_encrypted_and_reads_back(now: datetime) -> None:
    """The row holds a Fernet token; the service decrypts it."""
    secret = make_secret("API_TOKEN", VALUE, now=now)
    stored = Secret.objects.get(pk=secret.pk)
    assert VALUE not in stored.value_encrypted
    assert stored.value_changed_at == now
    assert stored.is_set is True
    assert secret_value(secret=stored) == VALUE


def test_no_table_holds_the_value_in_plain_text(
    scripts_dir: Path, now: datetime
) -> None:
    """Raw SQL over every table: secret, job, versions and audit log alike."""
    secret = make_secret("API_TOKEN", VALUE, now=now)
    make_job(now, secret)
    secret_set_value(secret=secret, value=VALUE + "-2", now=now)
    assert database_text_holding(VALUE) == []
    assert database_text_holding("s3cr3t") == []


def test_a_new_secret_needs_a_value(now: datetime) -> None:
    """No value, no secret."""
    with pytest.raises(ValidationError) as caught:
        secret_save(secret=Secret(name="API_TOKEN"), value=None, now=now)
    assert caught.value.message_dict == {"value": [MSG_VALUE_REQUIRED]}
    assert not Secret.objects.exists()


def test_renaming_keeps_the_value_and_its_date(now: datetime) -> None:
    """value=None changes name or description only."""
    secret = make_secret("API_TOKEN", VALUE, now=now)
    secret.name = "SERVICE_TOKEN"
    secret.description = "for the deploy job"
    secret_save(secret=secret, value=None, now=now + timedelta(days=1))
    stored = Secret.objects.get(pk=secret.pk)
    assert (stored.name, stored.value_changed_at) == ("SERVICE_TOKEN", now)
    assert secret_value(secret=stored) == VALUE


def test_a_new_value_moves_value_changed_at(now: datetime) -> None:
    """The admin shows when the value last changed."""
    secret = make_secret("API_TOKEN", VALUE, now=now)
    later = now + timedelta(days=2)
    secret_set_value(secret=secret, value="other", now=later)
    stored = Secret.objects.get(pk=secret.pk)
    assert (stored.value_changed_at, secret_value(secret=stored)) == (later, "other")


def test_audit_events_name_the_secret_and_never_the_value(now: datetime) -> None:
    """Created, then value changed: the log says "***" for the value."""
    secret = make_secret("API_TOKEN", VALUE, now=now)
    secret_set_value(secret=secret, value="other", now=now)
    events = AuditEvent.objects.filter(target_type="jobs.secret").order_by("pk")
    assert [(e.action, e.target_repr) for e in events] == [
        ("create", "API_TOKEN"),
        ("update", "API_TOKEN"),
    ]
    assert events[0].changes["name"] == [None, "API_TOKEN"]
    assert events[1].changes == {"value": ["***", "***"]}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("1TOKEN", MSG_ENV_VARIABLE_NAME.format(name="1TOKEN")),
        ("API-TOKEN", MSG_ENV_VARIABLE_NAME.format(name="API-TOKEN")),
        (
            "JOB_RUN_ID",
            MSG_RESERVED_NAME.format(name="JOB_RUN_ID", prefixes="JOB_, DJANGO_"),
        ),
        (
            "DJANGO_SETTINGS_MODULE",
            MSG_RESERVED_NAME.format(
                name="DJANGO_SETTINGS_MODULE", prefixes="JOB_, DJANGO_"
            ),
        ),
    ],
)
def test_a_name_that_is_no_usable_variable_is_refused(
    now: datetime, name: str, message: str
) -> None:
    """The name is the environment variable: it must be one, and not ours."""
    with pytest.raises(ValidationError) as caught:
        make_secret(name, VALUE, now=now)
    assert caught.value.message_dict["name"] == [message]


def test_a_secret_in_use_cannot_be_deleted(scripts_dir: Path, now: datetime) -> None:
    """Deleting it would run the job without its credential."""
    secret = make_secret("API_TOKEN", VALUE, now=now)
    make_job(now, secret)
    with pytest.raises(SecretInUseError) as caught:
        secret_delete(secret=secret, now=now)
    assert str(caught.value) == MSG_IN_USE.format(name="API_TOKEN", jobs="deploy")
    Job.objects.get().secrets.clear()
    secret_delete(secret=secret, now=now)
    assert not Secret.objects.exists()


def test_a_job_version_lists_secret_names_only(
    scripts_dir: Path, now: datetime
) -> None:
    """Adding a secret to a job is a new version naming it."""
    job = make_job(now)
    secret = make_secret("API_TOKEN", VALUE, now=now)
    job_save(job=job, schedules=None, now=now, secrets=[secret])
    latest = JobVersion.objects.filter(job=job).order_by("-number").first()
    assert latest is not None
    assert latest.snapshot["secrets"] == ["API_TOKEN"]
    assert VALUE not in json.dumps(latest.snapshot)


# --- exports and the API -----------------------------------------------------


def test_exports_name_the_secrets_without_their_values(
    scripts_dir: Path, now: datetime
) -> None:
    """A job document lists names; the export text never holds a value."""
    make_job(
        now, make_secret("B_TOKEN", VALUE, now=now), make_secret("A_KEY", "v2", now=now)
    )
    assert jobs_export()[0]["secrets"] == ["A_KEY", "B_TOKEN"]
    out = StringIO()
    call_command("exportjobs", "--format", "yaml", stdout=out)
    assert "A_KEY" in out.getvalue()
    assert VALUE not in out.getvalue()


def test_the_api_document_shows_names_only(scripts_dir: Path, now: datetime) -> None:
    """The serializer's output is the document: names, no values."""
    job = make_job(now, make_secret("API_TOKEN", VALUE, now=now))
    data = JobDocumentSerializer(job).data
    assert data["secrets"] == ["API_TOKEN"]
    assert VALUE not in json.dumps(data)


def test_an_import_links_secrets_by_name(scripts_dir: Path, now: datetime) -> None:
    """Round trip: export, clear, import: the job has its secrets again."""
    job = make_job(now, make_secret("API_TOKEN", VALUE, now=now))
    documents = jobs_export()
    job.secrets.clear()
    result = jobs_import(documents=documents, now=now, dry_run=False)
    assert result.updated == ["deploy"]
    assert list(job.secrets.values_list("name", flat=True)) == ["API_TOKEN"]
    again = jobs_import(documents=documents, now=now, dry_run=False)
    assert again.unchanged == ["deploy"]


def test_an_import_naming_an_unknown_secret_is_refused(
    scripts_dir: Path, now: datetime
) -> None:
    """The message names the missing secret; nothing is written."""
    document = {
        "name": "deploy",
        "script": "ok.py",
        "schedules": MANUAL,
        "secrets": ["NOPE"],
    }
    with pytest.raises(JobImportError) as caught:
        jobs_import(documents=[document], now=now, dry_run=False)
    assert caught.value.messages == [
        'Job "deploy": secrets: ' + MSG_NOT_IN_SECRETS.format(value="NOPE")
    ]
    assert not Job.objects.exists()


# --- key rotation --------------------------------------------------------------


@pytest.mark.usefixtures("old_key")
def test_rotation_keeps_values_readable_after_the_old_key_is_removed(
    settings: Any, now: datetime
) -> None:
    """KEY_OLD -> "KEY_NEW,KEY_OLD" + rotate -> KEY_NEW alone still decrypts."""
    secrets = [make_secret(f"TOKEN_{i}", f"value-{i}", now=now) for i in range(3)]
    settings.JOB_PORTAL_ENCRYPTION_KEY = f"{KEY_NEW},{KEY_OLD}"
    assert secrets_rotate(now=now) == 3
    settings.JOB_PORTAL_ENCRYPTION_KEY = KEY_NEW
    for i, secret in enumerate(secrets):
        stored = Secret.objects.get(pk=secret.pk)
        assert secret_value(secret=stored) == f"value-{i}"
        assert Fernet(KEY_NEW).decrypt(stored.value_encrypted.encode()) == (
            f"value-{i}".encode()
        )
        assert stored.value_changed_at == now


@pytest.mark.usefixtures("old_key")
def test_without_rotation_removing_the_old_key_makes_values_unreadable(
    settings: Any, now: datetime
) -> None:
    """Why rotation matters: the old token needs the old key."""
    secret = make_secret("API_TOKEN", VALUE, now=now)
    settings.JOB_PORTAL_ENCRYPTION_KEY = KEY_NEW
    with pytest.raises(SecretUnreadableError, match="cannot be decrypted"):
        secret_value(secret=Secret.objects.get(pk=secret.pk))


@pytest.mark.usefixtures("old_key")
def test_rotation_is_all_or_nothing(settings: Any, now: datetime) -> None:
    """One value no key decrypts: nothing is re-encrypted."""
    good = make_secret("GOOD", "g", now=now)
    stray = Fernet(Fernet.generate_key()).encrypt(b"x").decode()
    Secret.objects.create(name="STRAY", value_encrypted=stray)
    settings.JOB_PORTAL_ENCRYPTION_KEY = f"{KEY_NEW},{KEY_OLD}"
    before = Secret.objects.get(pk=good.pk).value_encrypted
    with pytest.raises(SecretUnreadableError, match="STRAY"):
        secrets_rotate(now=now)
    assert Secret.objects.get(pk=good.pk).value_encrypted == before


@pytest.mark.usefixtures("old_key")
def test_rotatekey_command_reports_the_count(settings: Any, now: datetime) -> None:
    """The command wraps the service."""
    make_secret("API_TOKEN", VALUE, now=now)
    settings.JOB_PORTAL_ENCRYPTION_KEY = f"{KEY_NEW},{KEY_OLD}"
    out = StringIO()
    call_command("rotatekey", stdout=out)
    assert out.getvalue() == MSG_DONE.format(count=1) + "\n"


def test_rotatekey_without_a_key_is_a_clean_error(settings: Any) -> None:
    """CommandError naming the variable, no traceback."""
    settings.JOB_PORTAL_ENCRYPTION_KEY = ""
    with pytest.raises(CommandError, match="JOB_PORTAL_ENCRYPTION_KEY is not set"):
        call_command("rotatekey")


def test_saving_without_a_key_refuses_instead_of_storing_plain_text(
    settings: Any, now: datetime
) -> None:
    """No key: EncryptionKeyError, no row."""
    settings.JOB_PORTAL_ENCRYPTION_KEY = ""
    with pytest.raises(crypto.EncryptionKeyError):
        make_secret("API_TOKEN", VALUE, now=now)
    assert not Secret.objects.exists()
