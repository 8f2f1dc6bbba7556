"""`GET /api/audit`: the audit log read-only, with the admin's right."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.services.audit import audit_record

pytestmark = pytest.mark.django_db

URL = "/api/audit"
AT = datetime(2026, 3, 1, 9, tzinfo=UTC)


@pytest.fixture
def events(make_user: Callable[..., User]) -> list[AuditEvent]:
    """Three events: a sign-in, a run and an update, an hour apart."""
    alice = make_user("alice", "Admin")
    return [
        audit_record(actor=alice, action="sign_in", target=None, ip="10.0.0.1", now=AT),
        audit_record(
            actor=alice,
            action="run",
            target=None,
            changes={"run": [None, 7]},
            now=AT + timedelta(hours=1),
        ),
        audit_record(
            actor=None,
            action="update",
            target=None,
            changes={"token": ["a", "b"]},
            now=AT + timedelta(hours=2),
        ),
    ]


def test_an_admin_lists_events_newest_first_with_their_hashes(
    api_client: APIClient, events: list[AuditEvent], make_user: Callable[..., User]
) -> None:
    """Every field of the admin's list, and the chain links."""
    api_client.force_authenticate(make_user("boss", "Admin"))
    window = {"after": "2026-03-01T08:00:00Z", "before": "2026-03-02T00:00:00Z"}
    rows = api_client.get(URL, window).json()["results"]
    assert [r["action"] for r in rows] == ["update", "run", "sign_in"]
    assert rows[1]["changes"] == {"run": [None, 7]}
    assert rows[2]["ip"] == "10.0.0.1"
    assert rows[0]["prev_hash"] == rows[1]["hash"]


def test_filters(
    api_client: APIClient, events: list[AuditEvent], make_user: Callable[..., User]
) -> None:
    """By action, by actor, by time."""
    api_client.force_authenticate(make_user("boss", "Admin"))
    by_action = api_client.get(URL, {"action": "run", "before": "2026-03-02T00:00:00Z"})
    by_action = by_action.json()["results"]
    assert [r["id"] for r in by_action] == [events[1].pk]
    by_actor = api_client.get(URL, {"actor": "alice", "before": "2026-03-01T09:30:00Z"})
    assert [r["id"] for r in by_actor.json()["results"]] == [events[0].pk]


def test_an_instant_the_database_cannot_hold_is_a_400(
    api_client: APIClient, events: list[AuditEvent], make_user: Callable[..., User]
) -> None:
    """A year past 9999 in UTC names the field; an offset PostgreSQL refuses
    (+21:31) is converted to UTC first, so it is an ordinary instant."""
    api_client.force_authenticate(make_user("boss", "Admin"))
    answer = api_client.get(URL, {"after": "9999-12-31T23:00:00-05:00"})
    assert answer.status_code == 400
    assert "after" in answer.json()
    answer = api_client.get(URL, {"after": "5757-03-19T08:49:28.7+21:31"})
    assert (answer.status_code, answer.json()["results"]) == (200, [])


def test_one_event_and_an_unknown_id(
    api_client: APIClient, events: list[AuditEvent], make_user: Callable[..., User]
) -> None:
    """GET by id; an id that does not exist is a 404."""
    api_client.force_authenticate(make_user("boss", "Admin"))
    assert api_client.get(f"{URL}/{events[0].pk}").json()["action"] == "sign_in"
    assert api_client.get(f"{URL}/999999").status_code == 404


@pytest.mark.parametrize("role", ["Editor", "Viewer", None])
def test_without_the_admins_right_it_is_403(
    api_client: APIClient,
    events: list[AuditEvent],
    make_user: Callable[..., User],
    role: str | None,
) -> None:
    """Only who may read the audit log in the admin reads it here."""
    api_client.force_authenticate(make_user("someone", role))
    assert api_client.get(URL).status_code == 403


def test_it_is_read_only(
    api_client: APIClient, events: list[AuditEvent], make_user: Callable[..., User]
) -> None:
    """No writes, even for an Admin."""
    api_client.force_authenticate(make_user("boss", "Admin"))
    assert api_client.post(URL, {}, format="json").status_code == 405
    assert api_client.delete(f"{URL}/{events[0].pk}").status_code == 405
