"""The permission functions, table-driven: each role, owner or not, grants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User

from accounts.permissions import can_view_audit_log
from accounts.roles import ADMIN, EDITOR, VIEWER
from jobs import permissions as perms
from jobs.models import Job, JobRun
from jobs.services.grants import job_rights_set
from jobs.services.runs import job_run_now

pytestmark = pytest.mark.django_db

JOB_CHECKS = {
    "view": perms.can_view_job,
    "change": perms.can_change_job,
    "delete": perms.can_delete_job,
    "run": perms.can_run_job,
    "activate": perms.can_activate_job,
}
USER_CHECKS = {
    "add": perms.can_add_job,
    "approve": perms.can_approve_scripts,
    "grant": perms.can_manage_job_permissions,
    "audit": can_view_audit_log,
}
ALL_JOB = {"view", "change", "delete", "run", "activate"}

# (user, job) -> the job checks that pass; every other one fails.
JOB_MATRIX = [
    ("admin", "editors_job", ALL_JOB),
    ("superuser", "editors_job", ALL_JOB),
    ("editor_owner", "editors_job", ALL_JOB),
    ("editor_other", "editors_job", {"view"}),
    ("viewer", "editors_job", {"view"}),
    ("viewer_owner", "viewers_job", {"view"}),
    ("no_role", "editors_job", set()),
    ("granted_change", "editors_job", {"view", "change", "activate"}),
    ("group_granted_run", "editors_job", {"view", "run"}),
    ("granted_change", "viewers_job", set()),
    ("inactive_owner", "inactive_owners_job", set()),
    ("anonymous", "editors_job", set()),
]
# user -> the user-level checks that pass.
USER_MATRIX = [
    ("admin", {"add", "approve", "grant", "audit"}),
    ("superuser", {"add", "approve", "grant", "audit"}),
    ("editor_owner", {"add"}),
    ("viewer", set()),
    ("no_role", set()),
    ("granted_change", set()),
    ("inactive_owner", set()),
    ("anonymous", set()),
]


@pytest.fixture
def people(
    make_user: Callable[..., User],
    make_job: Callable[..., Job],
    roles: dict[str, Group],
    now: datetime,
) -> None:
    """Create the users and jobs the matrices name."""
    admin = make_user("admin", ADMIN)
    make_user("superuser", is_superuser=True)
    editor_owner = make_user("editor_owner", EDITOR)
    make_user("editor_other", EDITOR)
    make_user("viewer", VIEWER)
    viewer_owner = make_user("viewer_owner", VIEWER)
    make_user("no_role")
    granted = make_user("granted_change")
    operator = make_user("group_granted_run")
    inactive = make_user("inactive_owner", EDITOR)
    operators = Group.objects.create(name="Operators")
    operator.groups.add(operators)

    editors_job = make_job("editors_job", actor=editor_owner)
    make_job("viewers_job", owner=viewer_owner, actor=admin)
    make_job("inactive_owners_job", actor=inactive)
    inactive.is_active = False
    inactive.save()
    job_rights_set(
        job=editors_job, grantee=granted, rights=["change_job"], actor=admin, now=now
    )
    job_rights_set(
        job=editors_job, grantee=operators, rights=["run_job"], actor=admin, now=now
    )


def user(name: str) -> User | AnonymousUser:
    """Return the user afresh (no cached permissions), or an anonymous one."""
    if name == "anonymous":
        return AnonymousUser()
    return User.objects.get(username=name)


@pytest.mark.parametrize(("who", "job_name", "allowed"), JOB_MATRIX)
@pytest.mark.parametrize("check", sorted(JOB_CHECKS))
def test_job_checks(
    people: None, who: str, job_name: str, allowed: set[str], check: str
) -> None:
    """Each job check passes exactly where the matrix says."""
    job = Job.objects.get(name=job_name)
    assert JOB_CHECKS[check](user(who), job) is (check in allowed)


@pytest.mark.parametrize(("who", "allowed"), USER_MATRIX)
@pytest.mark.parametrize("check", sorted(USER_CHECKS))
def test_user_checks(people: None, who: str, allowed: set[str], check: str) -> None:
    """Each model-wide check passes exactly where the matrix says."""
    assert USER_CHECKS[check](user(who)) is (check in allowed)


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("admin", {"editors_job", "viewers_job", "inactive_owners_job"}),
        ("viewer", {"editors_job", "viewers_job", "inactive_owners_job"}),
        ("editor_other", {"editors_job", "viewers_job", "inactive_owners_job"}),
        ("granted_change", {"editors_job"}),
        ("group_granted_run", {"editors_job"}),
        ("no_role", set()),
        ("inactive_owner", set()),
        ("anonymous", set()),
    ],
)
def test_jobs_visible_to(people: None, who: str, visible: set[str]) -> None:
    """Roles see every job; others only what they own or were granted."""
    names = set(perms.jobs_visible_to(user(who)).values_list("name", flat=True))
    assert names == visible


@pytest.mark.parametrize(
    ("who", "right", "expected"),
    [
        ("admin", "run_job", {"editors_job", "viewers_job", "inactive_owners_job"}),
        ("editor_owner", "change_job", {"editors_job"}),
        ("editor_owner", "delete_job", {"editors_job"}),
        ("editor_other", "change_job", set()),
        ("viewer_owner", "change_job", set()),
        ("granted_change", "change_job", {"editors_job"}),
        ("granted_change", "run_job", set()),
        ("group_granted_run", "run_job", {"editors_job"}),
    ],
)
def test_jobs_with_right(
    people: None, who: str, right: str, expected: set[str]
) -> None:
    """The jobs a user may act on, for filtering actions and lists."""
    names = set(perms.jobs_with_right(user(who), right).values_list("name", flat=True))
    assert names == expected


def test_some_job_checks_show_tools_only_to_those_who_can_use_them(
    people: None,
) -> None:
    """ "Some job" checks: an owner yes, a viewer no."""
    assert perms.can_change_some_job(user("editor_owner")) is True
    assert perms.can_run_some_job(user("group_granted_run")) is True
    assert perms.can_delete_some_job(user("granted_change")) is False
    assert perms.can_change_some_job(user("viewer")) is False


def test_an_owner_demoted_to_viewer_loses_the_owners_rights(
    people: None, roles: dict[str, Group]
) -> None:
    """Ownership gives rights only while the owner may create jobs."""
    owner = User.objects.get(username="editor_owner")
    owner.groups.set([roles[VIEWER]])
    job = Job.objects.get(name="editors_job")
    demoted = user("editor_owner")
    assert perms.can_view_job(demoted, job) is True
    assert perms.can_change_job(demoted, job) is False
    assert perms.can_run_job(demoted, job) is False


def test_runs_are_visible_with_their_job(people: None, now: datetime) -> None:
    """Runs follow their job's visibility; cancelling follows running."""
    job = Job.objects.get(name="editors_job")
    run = job_run_now(job=job, requested_by=None, now=now)
    other = job_run_now(
        job=Job.objects.get(name="viewers_job"), requested_by=None, now=now
    )
    assert set(perms.runs_visible_to(user("granted_change"))) == {run}
    assert set(perms.runs_visible_to(user("viewer"))) == set(JobRun.objects.all())
    assert other in perms.runs_visible_to(user("admin"))
    assert perms.can_cancel_run(user("group_granted_run"), run) is True
    assert perms.can_cancel_run(user("granted_change"), run) is False
    assert perms.can_cancel_run(user("admin"), other) is True
    assert perms.can_cancel_run(user("viewer"), run) is False


def test_only_grant_managers_may_change_an_owner(people: None) -> None:
    """Ownership carries rights, so only Admins reassign it."""
    job = Job.objects.get(name="editors_job")
    assert perms.can_change_job_owner(user("admin"), job) is True
    assert perms.can_change_job_owner(user("editor_owner"), job) is False


def test_restoring_a_version_is_a_change(people: None) -> None:
    """Restore follows can_change_job on the version's job."""
    version = Job.objects.get(name="editors_job").versions.get(number=1)
    assert perms.can_restore_job_version(user("editor_owner"), version) is True
    assert perms.can_restore_job_version(user("viewer"), version) is False
