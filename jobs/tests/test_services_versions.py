"""Job versions: one per change, readable diffs, restore round-trip."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from accounts.tests.factories import UserFactory
from jobs.documents import job_to_document
from jobs.models import Job, JobVersion, Script, Secret
from jobs.services.jobs import (
    MSG_RESTORED,
    job_save,
    job_set_active,
    job_version_restore,
)
from jobs.services.secrets import secret_delete, secret_save
from jobs.services.versions import (
    MSG_BASELINE,
    MSG_SECRETS_GONE,
    job_snapshot,
    job_version_diff,
    script_sha256,
)
from jobs.tests.factories import JobFactory

pytestmark = pytest.mark.django_db

DAILY_9 = {"type": "daily", "time": "09:00"}
WEEKLY = {"type": "weekly", "weekdays": ["mon", "fri"], "time": "07:30"}


@pytest.fixture
def alice(db: None) -> User:
    """Return a user who edits jobs."""
    return UserFactory.create(username="alice")


@pytest.fixture
def job(scripts_dir: Path, alice: User, now: datetime) -> Job:
    """Return a daily job created by alice (version 1)."""
    return JobFactory.create(
        name="nightly", schedules=[DAILY_9], now=now, actor=alice, note="First cut"
    )


def change(job: Job, now: datetime, actor: User | None = None, **fields: Any) -> Job:
    """Set fields (and "schedules") on a fresh copy of the job and save it."""
    job = Job.objects.get(pk=job.pk)
    schedules = fields.pop("schedules", None)
    for name, value in fields.items():
        setattr(job, name, value)
    return job_save(job=job, schedules=schedules, now=now, actor=actor)


def test_creating_a_job_stores_version_one(
    job: Job, alice: User, now: datetime
) -> None:
    """Version 1 holds the document, the author and the note."""
    [version] = job.versions.all()
    assert (version.number, version.author, version.note) == (1, alice, "First cut")
    assert version.created_at == now
    assert version.snapshot["schedules"] == [DAILY_9]
    assert version.snapshot["secrets"] == []


def test_every_change_stores_the_next_version(job: Job, now: datetime) -> None:
    """Each save that changes the definition adds one version."""
    change(job, now, description="Exports the day")
    change(job, now, schedules=[WEEKLY])
    assert list(job.versions.values_list("number", flat=True)) == [3, 2, 1]


def test_a_save_without_changes_stores_no_version(job: Job, now: datetime) -> None:
    """Saving the same definition again is not a new version."""
    change(job, now, description="")
    change(job, now + timedelta(hours=1), schedules=[DAILY_9])
    assert job.versions.count() == 1


def test_activation_is_a_version_too(job: Job, now: datetime, alice: User) -> None:
    """Deactivating stores a version noted "Deactivated."; repeating does not."""
    job_set_active(job=job, is_active=False, now=now, actor=alice)
    job_set_active(job=job, is_active=False, now=now, actor=alice)
    latest = job.versions.first()
    assert latest is not None
    assert (latest.number, latest.note, latest.snapshot["active"]) == (
        2,
        "Deactivated.",
        False,
    )


def test_a_job_saved_before_versions_gets_its_old_state_as_version_one(
    job: Job, now: datetime
) -> None:
    """No versions yet: the state before the first change is kept first."""
    JobVersion.objects.all().delete()
    change(job, now, priority=5)
    first, second = job.versions.order_by("number")
    assert (first.number, first.note, first.author) == (1, MSG_BASELINE, None)
    assert first.snapshot["priority"] == 0
    assert second.snapshot["priority"] == 5


def test_the_snapshot_names_secrets_but_never_their_values(
    job: Job, now: datetime
) -> None:
    """Secret names are in the version; the values appear nowhere."""
    secret = secret_save(secret=Secret(name="API_TOKEN"), value="s3cr3t-value", now=now)
    saved = job_save(job=job, schedules=None, now=now, secrets=[secret])
    version = saved.versions.first()
    assert version is not None
    assert version.snapshot["secrets"] == ["API_TOKEN"]
    assert "s3cr3t-value" not in str(version.snapshot)


def test_the_snapshot_has_the_scripts_content_hash(job: Job, scripts_dir: Path) -> None:
    """The file's SHA-256 when unregistered, the registry's when registered."""
    expected = hashlib.sha256((scripts_dir / "ok.py").read_bytes()).hexdigest()
    assert job_snapshot(job)["script_sha256"] == expected
    Script.objects.update_or_create(
        path="ok.py",
        defaults={
            "sha256": "ab" * 32,
            "registered_at": job.created_at,
            "updated_at": job.created_at,
        },
    )
    assert script_sha256("ok.py") == "ab" * 32
    assert script_sha256("missing.py") is None


def test_the_diff_between_versions_is_readable(job: Job, now: datetime) -> None:
    """Field-level lines between any two versions."""
    change(job, now, schedules=[{"type": "daily", "time": "10:00"}])
    change(job, now, retry_max_attempts=3)
    v1, v3 = job.versions.get(number=1), job.versions.get(number=3)
    assert [str(c) for c in job_version_diff(old=v1, new=v3)] == [
        "schedules[0].time: '09:00' → '10:00'",
        "retry.max_attempts: 1 → 3",
    ]


def test_restore_round_trip(job: Job, alice: User, now: datetime) -> None:
    """Restoring v1 after changing schedules gives v1's document as v3."""
    v1 = job.versions.get(number=1)
    change(job, now, schedules=[WEEKLY, {"type": "manual"}], timezone="Europe/Paris")
    later = now + timedelta(hours=2)
    restored = job_version_restore(version=v1, actor=alice, now=later, ip="192.0.2.4")
    restored = Job.objects.get(pk=restored.pk)
    expected = {k: v for k, v in v1.snapshot.items() if k != "script_sha256"}
    assert job_to_document(restored) == expected
    latest = restored.versions.first()
    assert latest is not None
    assert (latest.number, latest.author, latest.note) == (
        3,
        alice,
        MSG_RESTORED.format(number=1),
    )
    assert latest.snapshot == v1.snapshot
    event = AuditEvent.objects.filter(action="restore").get()
    assert (event.actor, event.ip, event.at) == (alice, "192.0.2.4", later)
    assert event.changes["timezone"] == ["Europe/Paris", "Asia/Hong_Kong"]
    assert event.changes["schedules[0].type"] == ["weekly", "daily"]
    assert event.changes["schedules[1]"] == [{"type": "manual"}, None]


def test_restore_refuses_a_version_whose_secret_is_gone(
    job: Job, alice: User, now: datetime
) -> None:
    """A deleted secret cannot be restored; nothing changes."""
    secret = secret_save(secret=Secret(name="OLD_TOKEN"), value="x", now=now)
    job_save(job=job, schedules=None, now=now, secrets=[secret])
    with_secret = job.versions.first()
    assert with_secret is not None
    job_save(job=Job.objects.get(pk=job.pk), schedules=None, now=now, secrets=[])
    secret_delete(secret=secret, now=now)
    count = job.versions.count()
    with pytest.raises(ValidationError) as raised:
        job_version_restore(version=with_secret, actor=alice, now=now)
    assert raised.value.message_dict == {
        "secrets": [MSG_SECRETS_GONE.format(names="OLD_TOKEN")]
    }
    assert job.versions.count() == count
