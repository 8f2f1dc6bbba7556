"""Per-job rights: set exactly, audited as grant and revoke, cleared on delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from guardian.models import UserObjectPermission

from accounts.models import AuditEvent
from accounts.roles import ADMIN
from jobs.models import Job
from jobs.selectors import job_grants
from jobs.services.grants import (
    MSG_UNKNOWN_RIGHT,
    GrantChange,
    job_rights_of,
    job_rights_set,
    object_permissions_clear,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    """Return an Admin-role user."""
    return make_user("root", ADMIN)


@pytest.fixture
def job(make_job: Callable[..., Job]) -> Job:
    """Return a saved job."""
    return make_job("nightly")


def grant_events(job: Job) -> list[AuditEvent]:
    """Return the grant and revoke events of `job`, oldest first."""
    return list(
        AuditEvent.objects.filter(
            target_type="jobs.job",
            target_id=str(job.pk),
            action__in=[AuditEvent.Action.GRANT, AuditEvent.Action.REVOKE],
        ).order_by("pk")
    )


def test_granting_records_who_granted_what_to_whom(
    job: Job, admin: User, make_user: Callable[..., User], now: datetime
) -> None:
    """A grant adds the object permissions and one "grant" event."""
    bob = make_user("bob")
    change = job_rights_set(
        job=job,
        grantee=bob,
        rights=["change_job", "run_job"],
        actor=admin,
        ip="192.0.2.1",
        now=now,
    )
    assert change == GrantChange(granted=["change_job", "run_job"], revoked=[])
    assert job_rights_of(bob, job) == {"change_job", "run_job"}
    [event] = grant_events(job)
    assert (event.action, event.actor_repr, event.ip) == ("grant", "root", "192.0.2.1")
    assert event.changes == {"permissions of user bob": [[], ["change_job", "run_job"]]}


def test_setting_fewer_rights_revokes_the_rest(
    job: Job, admin: User, make_user: Callable[..., User], now: datetime
) -> None:
    """Rights not listed any more are revoked, recorded as "revoke"."""
    bob = make_user("bob")
    job_rights_set(
        job=job, grantee=bob, rights=["change_job", "run_job"], actor=admin, now=now
    )
    change = job_rights_set(
        job=job, grantee=bob, rights=["run_job"], actor=admin, now=now
    )
    assert change == GrantChange(granted=[], revoked=["change_job"])
    assert job_rights_of(bob, job) == {"run_job"}
    revoke = grant_events(job)[-1]
    assert revoke.action == "revoke"
    assert revoke.changes == {
        "permissions of user bob": [["change_job", "run_job"], ["run_job"]]
    }


def test_setting_the_same_rights_records_nothing(
    job: Job, admin: User, make_user: Callable[..., User], now: datetime
) -> None:
    """An unchanged grant writes no event."""
    bob = make_user("bob")
    job_rights_set(job=job, grantee=bob, rights=["run_job"], actor=admin, now=now)
    job_rights_set(job=job, grantee=bob, rights=["run_job"], actor=admin, now=now)
    assert len(grant_events(job)) == 1


def test_groups_are_granted_like_users(job: Job, admin: User, now: datetime) -> None:
    """A group's grant is listed under the group."""
    operators = Group.objects.create(name="Operators")
    job_rights_set(job=job, grantee=operators, rights=["run_job"], actor=admin, now=now)
    [grant] = job_grants(job)
    assert (grant.grantee, grant.rights, grant.is_group) == (
        operators,
        ("run_job",),
        True,
    )
    assert grant_events(job)[0].changes == {
        "permissions of group Operators": [[], ["run_job"]]
    }


def test_an_unknown_right_is_refused(
    job: Job, admin: User, make_user: Callable[..., User], now: datetime
) -> None:
    """Only the per-job rights can be granted."""
    bob = make_user("bob")
    message = MSG_UNKNOWN_RIGHT.format(
        codename="add_job", choices="view_job, change_job, delete_job, run_job"
    )
    with pytest.raises(ValidationError) as raised:
        job_rights_set(job=job, grantee=bob, rights=["add_job"], actor=admin, now=now)
    assert raised.value.messages == [message]
    assert job_rights_of(bob, job) == set()


def test_clearing_removes_every_grant_on_the_object(
    job: Job, admin: User, make_user: Callable[..., User], now: datetime
) -> None:
    """guardian keeps no foreign key, so rows are removed explicitly."""
    bob = make_user("bob")
    job_rights_set(job=job, grantee=bob, rights=["change_job"], actor=admin, now=now)
    job_rights_set(
        job=job,
        grantee=Group.objects.create(name="Operators"),
        rights=["run_job"],
        actor=admin,
        now=now,
    )
    assert object_permissions_clear(obj=job) == 2
    assert UserObjectPermission.objects.count() == 0
    assert job_grants(job) == []
