"""The job services write the audit log: who changed which fields, from where."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from guardian.models import UserObjectPermission

from accounts.models import AuditEvent
from accounts.redaction import REDACTED
from accounts.selectors import audit_chain_report
from accounts.tests.factories import UserFactory
from jobs.models import Job, JobRun
from jobs.services.grants import job_rights_set
from jobs.services.jobs import job_delete, job_save, job_set_active
from jobs.services.runs import job_run_now
from jobs.tests.factories import JobFactory
from jobs.tests.security_helpers import make_secret

pytestmark = pytest.mark.django_db

DAILY_9 = {"type": "daily", "time": "09:00"}
IP = "192.0.2.10"


@pytest.fixture
def alice(db: None) -> User:
    """Return the user who acts."""
    return UserFactory.create(username="alice")


@pytest.fixture
def job(scripts_dir: Path, alice: User, now: datetime) -> Job:
    """Return a job alice created."""
    return JobFactory.create(
        name="nightly",
        env={"REGION": "apac"},
        schedules=[DAILY_9],
        now=now,
        actor=alice,
        ip=IP,
    )


def job_events(job_id: int, action: str) -> list[AuditEvent]:
    """Return the job's events of `action`, oldest first."""
    return list(
        AuditEvent.objects.filter(
            target_type="jobs.job", target_id=str(job_id), action=action
        ).order_by("pk")
    )


def test_creating_a_job_records_every_field_and_makes_the_actor_owner(
    job: Job, alice: User, now: datetime
) -> None:
    """A create event with [None, value] per field; the creator owns the job."""
    [event] = job_events(job.pk, AuditEvent.Action.CREATE)
    assert (event.actor, event.ip, event.at, event.target_repr) == (
        alice,
        IP,
        now,
        "nightly",
    )
    assert event.changes["name"] == [None, "nightly"]
    assert event.changes["schedules"] == [None, [DAILY_9]]
    assert event.changes["owner"] == [None, "alice"]
    assert job.owner == alice


def test_an_update_records_only_the_changed_fields(
    job: Job, alice: User, now: datetime
) -> None:
    """Field-level old and new values, schedules and policies inside."""
    job = Job.objects.get(pk=job.pk)
    job.retry_max_attempts = 3
    job.description = "Exports the day"
    job_save(
        job=job,
        schedules=[{"type": "daily", "time": "10:00"}],
        now=now,
        actor=alice,
        ip=IP,
    )
    [event] = job_events(job.pk, AuditEvent.Action.UPDATE)
    assert event.changes == {
        "description": ["", "Exports the day"],
        "schedules[0].time": ["09:00", "10:00"],
        "retry.max_attempts": [1, 3],
    }


def test_secret_looking_environment_values_are_redacted(
    job: Job, alice: User, now: datetime
) -> None:
    """A token in the environment is recorded as changed, never its value."""
    job = Job.objects.get(pk=job.pk)
    job.env = {"REGION": "emea", "API_TOKEN": "tok-123"}
    job_save(job=job, schedules=None, now=now, actor=alice)
    [event] = job_events(job.pk, AuditEvent.Action.UPDATE)
    assert event.changes == {
        "env.REGION": ["apac", "emea"],
        "env.API_TOKEN": [None, REDACTED],
    }
    assert "tok-123" not in str(list(AuditEvent.objects.values_list("changes")))


def test_a_save_that_changes_nothing_records_nothing(
    job: Job, alice: User, now: datetime
) -> None:
    """No update event without a change."""
    job_save(job=Job.objects.get(pk=job.pk), schedules=[DAILY_9], now=now, actor=alice)
    assert job_events(job.pk, AuditEvent.Action.UPDATE) == []


def test_changing_the_owner_is_recorded(job: Job, alice: User, now: datetime) -> None:
    """The owner is no document field but its change is audited."""
    bob = UserFactory.create(username="bob")
    # Handing a job over takes the right to grant rights (`job_save`).
    User.objects.filter(pk=alice.pk).update(is_superuser=True)
    alice.is_superuser = True
    job = Job.objects.get(pk=job.pk)
    job.owner = bob
    job_save(job=job, schedules=None, now=now, actor=alice)
    [event] = job_events(job.pk, AuditEvent.Action.UPDATE)
    assert event.changes == {"owner": ["alice", "bob"]}


def test_activation_is_recorded_once_per_change(
    job: Job, alice: User, now: datetime
) -> None:
    """Deactivate, deactivate again, activate: two events."""
    job_set_active(job=job, is_active=False, now=now, actor=alice, ip=IP)
    job_set_active(job=job, is_active=False, now=now, actor=alice, ip=IP)
    job_set_active(job=job, is_active=True, now=now, actor=alice, ip=IP)
    [off] = job_events(job.pk, AuditEvent.Action.DEACTIVATE)
    [on] = job_events(job.pk, AuditEvent.Action.ACTIVATE)
    assert (off.changes, off.ip, off.actor) == ({"active": [True, False]}, IP, alice)
    assert on.changes == {"active": [False, True]}


def test_a_manual_run_is_recorded_with_parameters_redacted(
    job: Job, alice: User, now: datetime
) -> None:
    """A manual run names its run id; secret-looking parameters are hidden."""
    run = job_run_now(
        job=job,
        requested_by=alice,
        now=now,
        ip=IP,
        parameters={"DAY": "2026-03-01", "DB_PASSWORD": "pw"},
    )
    [event] = job_events(job.pk, AuditEvent.Action.RUN)
    assert (event.actor, event.ip) == (alice, IP)
    assert event.changes == {
        "run": [None, run.pk],
        "parameters": [None, {"DAY": "2026-03-01", "DB_PASSWORD": REDACTED}],
    }


def test_scheduled_and_retry_runs_are_not_audited(job: Job, now: datetime) -> None:
    """Only runs someone asked for are audit events."""
    job_run_now(job=job, requested_by=None, now=now, trigger=JobRun.Trigger.RETRY)
    assert job_events(job.pk, AuditEvent.Action.RUN) == []


def test_deleting_a_job_records_its_last_state_and_clears_its_grants(
    job: Job, alice: User, now: datetime
) -> None:
    """The delete event keeps the definition; no object permission survives."""
    job_rights_set(
        job=job,
        grantee=Group.objects.create(name="Ops"),
        rights=["run_job"],
        actor=alice,
        now=now,
    )
    job_rights_set(
        job=job,
        grantee=UserFactory.create(username="bob"),
        rights=["change_job"],
        actor=alice,
        now=now,
    )
    job_id = job.pk
    job_delete(job=job, now=now, actor=alice, ip=IP)
    [event] = job_events(job_id, AuditEvent.Action.DELETE)
    assert (event.actor, event.ip, event.target_repr) == (alice, IP, "nightly")
    assert event.changes["name"] == ["nightly", None]
    assert event.changes["schedules"] == [[DAILY_9], None]
    assert not Job.objects.filter(pk=job_id).exists()
    assert UserObjectPermission.objects.count() == 0
    assert audit_chain_report().broken is None


def test_granting_a_secret_records_its_name(
    job: Job, alice: User, now: datetime
) -> None:
    """The log names the secret a job got (as the version diff does)."""
    secret = make_secret("GREETING_TOKEN", "s3cr3t-value", now=now)
    job = Job.objects.get(pk=job.pk)
    admin = UserFactory.staff("root", password="x", is_superuser=True)
    job_save(job=job, schedules=None, now=now, actor=admin, secrets=[secret])
    [event] = job_events(job.pk, AuditEvent.Action.UPDATE)
    assert event.changes == {"secrets[0]": [None, "GREETING_TOKEN"]}
    assert "s3cr3t-value" not in str(list(AuditEvent.objects.values_list("changes")))
