"""The accounts admin: users and groups audited; the audit log read-only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.redaction import REDACTED
from accounts.roles import ADMIN, EDITOR, VIEWER
from accounts.services.audit import AuditTarget, audit_record

pytestmark = pytest.mark.django_db

CLIENT_IP = "198.51.100.20"
EVENTS = "admin:accounts_auditevent_changelist"


@pytest.fixture
def admin_role(make_user: Callable[..., User], client: Client) -> User:
    """Sign in an Admin-role (not superuser) staff member."""
    user = make_user("root", ADMIN)
    client.force_login(user)
    return user


def latest(target_type: str, action: str) -> AuditEvent:
    """Return the newest event of that kind."""
    return AuditEvent.objects.filter(target_type=target_type, action=action).latest(
        "pk"
    )


def test_adding_a_user_is_audited_without_the_password(
    client: Client, admin_role: User
) -> None:
    """The add form's user is recorded; the password shows only as hidden."""
    response = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "dana",
            "password1": "a-long-Password-123",
            "password2": "a-long-Password-123",
            "usable_password": "true",
        },
        REMOTE_ADDR=CLIENT_IP,
    )
    assert response.status_code == 302
    event = latest("auth.user", "create")
    assert (event.actor_repr, event.target_repr, event.ip) == (
        "root",
        "dana",
        CLIENT_IP,
    )
    assert event.changes["username"] == [None, "dana"]
    assert event.changes["password"] == [None, REDACTED]


def test_changing_a_users_groups_is_audited(
    client: Client,
    admin_role: User,
    make_user: Callable[..., User],
    roles: dict[str, Group],
) -> None:
    """Moving a user from Viewer to Editor shows as a groups change."""
    erin = make_user("erin", VIEWER)
    url = reverse("admin:auth_user_change", args=[erin.pk])
    form = {
        "username": "erin",
        "is_active": "on",
        "is_staff": "on",
        "groups": [roles[EDITOR].pk],
        "date_joined_0": "2026-03-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-03-01",
        "initial-date_joined_1": "00:00:00",
    }
    response = client.post(url, form, REMOTE_ADDR=CLIENT_IP)
    assert response.status_code == 302, response.content.decode()[:2000]
    event = latest("auth.user", "update")
    assert event.changes["groups"] == [[VIEWER], [EDITOR]]
    assert event.ip == CLIENT_IP


def test_changing_a_password_is_audited_as_hidden(
    client: Client, admin_role: User, make_user: Callable[..., User]
) -> None:
    """The password form records that the password changed, not its value."""
    fred = make_user("fred")
    url = reverse("admin:auth_user_password_change", args=[fred.pk])
    response = client.post(
        url,
        {
            "password1": "another-Password-456",
            "password2": "another-Password-456",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    event = latest("auth.user", "update")
    assert event.changes == {"password": [REDACTED, REDACTED]}


def test_deleting_a_user_is_audited_with_its_last_state(
    client: Client, admin_role: User, make_user: Callable[..., User]
) -> None:
    """The delete confirmation records the user's fields as old values."""
    gina = make_user("gina", email="gina@example.com")
    url = reverse("admin:auth_user_delete", args=[gina.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    event = latest("auth.user", "delete")
    assert (event.target_id, event.target_repr) == (str(gina.pk), "gina")
    assert event.changes["email"] == ["gina@example.com", None]


def test_changing_a_groups_permissions_is_audited(
    client: Client, admin_role: User
) -> None:
    """A group's permission list change is recorded by name."""
    group = Group.objects.create(name="Operators")
    permission = Permission.objects.get(codename="view_job")
    url = reverse("admin:auth_group_change", args=[group.pk])
    response = client.post(url, {"name": "Operators", "permissions": [permission.pk]})
    assert response.status_code == 302
    event = latest("auth.group", "update")
    assert event.changes == {"permissions": [[], ["jobs.view_job"]]}


@pytest.fixture
def event(now: datetime) -> AuditEvent:
    """Return one recorded event."""
    return audit_record(
        actor=None,
        action=AuditEvent.Action.UPDATE,
        target=AuditTarget(type="jobs.job", id="1", repr="nightly"),
        changes={"priority": [0, 5]},
        now=now,
    )


def test_the_audit_log_is_read_only_even_for_superusers(
    admin_client: Client, event: AuditEvent
) -> None:
    """No add, change or delete, and no bulk actions, for anyone."""
    change = reverse("admin:accounts_auditevent_change", args=[event.pk])
    page = admin_client.get(reverse(EVENTS))
    assert page.status_code == 200
    assert "nightly" in page.content.decode()
    assert 'name="action"' not in page.content.decode()
    assert admin_client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"action": "delete"}).status_code == 403
    delete = reverse("admin:accounts_auditevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.action == "update"


def test_the_audit_log_filters_by_target_action_and_actor(
    admin_client: Client, event: AuditEvent, now: datetime
) -> None:
    """The job page's link (?target_type=&target_id=) and the filters work."""
    audit_record(
        actor=None,
        action=AuditEvent.Action.DELETE,
        target=AuditTarget(type="jobs.job", id="2", repr="weekly"),
        now=now,
    )
    by_target = admin_client.get(
        reverse(EVENTS), {"target_type": "jobs.job", "target_id": "1"}
    ).content.decode()
    assert "nightly" in by_target
    assert "weekly" not in by_target
    by_action = admin_client.get(reverse(EVENTS), {"action": "delete"}).content
    assert b"weekly" in by_action
    assert b"nightly" not in by_action
    by_actor = admin_client.get(reverse(EVENTS), {"actor_name": "system"}).content
    assert b"weekly" in by_actor
    searched = admin_client.get(reverse(EVENTS), {"q": "weekl"}).content
    assert b"weekly" in searched
    assert b"nightly" not in searched


@pytest.mark.parametrize(
    ("role", "status"), [(ADMIN, 200), (EDITOR, 403), (VIEWER, 403)]
)
def test_only_admins_read_the_audit_log(
    client: Client,
    make_user: Callable[..., User],
    event: AuditEvent,
    role: str,
    status: int,
) -> None:
    """The Admin role reads the log; Editors and Viewers do not."""
    client.force_login(make_user("someone", role))
    assert client.get(reverse(EVENTS)).status_code == status
