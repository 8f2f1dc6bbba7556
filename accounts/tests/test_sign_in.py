"""Sign-ins, failed sign-ins and sign-outs are audited with the client's IP."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import AuditEvent
from accounts.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = "/admin/login/"
CLIENT_IP = "203.0.113.5"


def sign_in(client: Client, username: str, password: str) -> int:
    """POST the admin's login form from CLIENT_IP; return the status code."""
    response = client.post(
        LOGIN_URL,
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=CLIENT_IP,
    )
    return response.status_code


def events(action: str) -> list[AuditEvent]:
    """Return the events of `action`, oldest first."""
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_a_sign_in_is_recorded_with_the_ip(
    client: Client, make_user: Callable[..., User]
) -> None:
    """The admin login page's POST records the user and the address."""
    alice = make_user("alice")
    assert sign_in(client, "alice", PASSWORD) == 302
    [event] = events(AuditEvent.Action.SIGN_IN)
    assert (event.actor, event.actor_repr, event.ip) == (alice, "alice", CLIENT_IP)
    assert (event.target_type, event.target_id) == ("auth.user", str(alice.pk))


def test_a_wrong_password_is_recorded_without_the_password(
    client: Client, make_user: Callable[..., User]
) -> None:
    """A failed sign-in names the user tried and the address, never the password."""
    alice = make_user("alice")
    assert sign_in(client, "alice", "wrong-guess-123") == 200
    [event] = events(AuditEvent.Action.SIGN_IN_FAILED)
    assert (event.actor, event.actor_repr, event.ip) == (None, "", CLIENT_IP)
    assert (event.target_type, event.target_id, event.target_repr) == (
        "auth.user",
        str(alice.pk),
        "alice",
    )
    assert event.changes == {"username": [None, "alice"]}
    stored = json.dumps(list(AuditEvent.objects.values_list("changes", flat=True)))
    assert "wrong-guess-123" not in stored
    assert events(AuditEvent.Action.SIGN_IN) == []


def test_an_unknown_user_name_is_recorded_as_tried(
    client: Client, roles: object
) -> None:
    """A name that matches no user is kept as the target's text."""
    assert sign_in(client, "nobody-here", "whatever-123") == 200
    [event] = events(AuditEvent.Action.SIGN_IN_FAILED)
    assert (event.target_type, event.target_id, event.target_repr) == (
        "auth.user",
        "",
        "nobody-here",
    )


def test_a_sign_out_is_recorded(client: Client, make_user: Callable[..., User]) -> None:
    """Logging out of the admin records the user."""
    make_user("alice")
    sign_in(client, "alice", PASSWORD)
    client.post("/admin/logout/", REMOTE_ADDR=CLIENT_IP)
    [event] = events(AuditEvent.Action.SIGN_OUT)
    assert (event.actor_repr, event.ip) == ("alice", CLIENT_IP)
