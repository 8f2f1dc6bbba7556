"""/api/keys: every user lists, creates and revokes their own API keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.api.keys import MSG_KEY_CANNOT_CREATE, MSG_NOT_FOUND
from accounts.models import APIKey, AuditEvent
from accounts.services.api_keys import (
    MSG_REVOKED,
    api_key_authenticate,
    api_key_hash,
)
from accounts.tests.keys import create_key
from jobs.api.access import MSG_FORBIDDEN

pytestmark = pytest.mark.django_db

KEYS = "/api/keys"
JOBS = reverse("api:job-list")
CLIENT_IP = "198.51.100.7"
LISTED = {
    "id",
    "name",
    "prefix",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
    "status",
}


def detail(api_key: APIKey | int | str) -> str:
    """Return the detail URL of a key (or of any id)."""
    pk = api_key.pk if isinstance(api_key, APIKey) else api_key
    return f"/api/keys/{pk}"


def revoke(api_key: APIKey | int | str) -> str:
    """Return the revoke URL of a key (or of any id)."""
    return detail(api_key) + "/revoke"


@pytest.fixture
def erin(make_user: Callable[..., User]) -> User:
    """Return an Editor."""
    return make_user("erin", "Editor")


@pytest.fixture
def signed_in(api_client: APIClient, erin: User) -> APIClient:
    """Return a client signed in (session) as erin."""
    api_client.force_login(erin)
    return api_client


def with_key(raw_key: str) -> APIClient:
    """Return a client that sends `raw_key` in X-API-Key."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key)
    return client


# --- create ------------------------------------------------------------------


def test_create_returns_the_full_key_once(signed_in: APIClient, erin: User) -> None:
    """201 with the full key, which then authenticates; GET never shows it."""
    response = signed_in.post(KEYS, {"name": "deploys"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {*LISTED, "key"}
    assert (body["name"], body["status"], body["expires_at"]) == (
        "deploys",
        "active",
        None,
    )
    assert body["key"].startswith(f"jtp_{body['prefix']}_")
    api_key = APIKey.objects.get(pk=body["id"])
    assert (api_key.owner, api_key.hashed_key) == (erin, api_key_hash(body["key"]))
    assert api_key_authenticate(raw_key=body["key"], now=timezone.now()) == api_key
    shown = signed_in.get(detail(api_key)).json()
    assert "key" not in shown
    assert body["key"] not in str(signed_in.get(KEYS).json())


def test_create_is_audited_with_ip_and_never_the_key(signed_in: APIClient) -> None:
    """The create event names the caller and address, never the key."""
    response = signed_in.post(
        KEYS, {"name": "deploys"}, format="json", REMOTE_ADDR=CLIENT_IP
    )
    event = AuditEvent.objects.get(action="create", target_type="accounts.apikey")
    assert (event.actor_repr, event.ip, event.target_id) == (
        "erin",
        CLIENT_IP,
        str(response.json()["id"]),
    )
    secret = response.json()["key"].split("_", 2)[2]
    assert secret not in str(AuditEvent.objects.values())


def test_create_with_expiry_in_days(signed_in: APIClient) -> None:
    """expires_in_days sets the expiry that many days from now."""
    before = timezone.now()
    response = signed_in.post(
        KEYS, {"name": "ci", "expires_in_days": 30}, format="json"
    )
    assert response.status_code == 201
    expires_at = APIKey.objects.get().expires_at
    assert expires_at is not None
    assert (
        before + timedelta(days=30) <= expires_at <= timezone.now() + timedelta(days=30)
    )


def test_create_with_null_expiry_never_expires(signed_in: APIClient) -> None:
    """expires_in_days null is the same as leaving it out."""
    response = signed_in.post(
        KEYS, {"name": "ci", "expires_in_days": None}, format="json"
    )
    assert (response.status_code, response.json()["expires_at"]) == (201, None)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["This field is required."]}),
        ({"name": ""}, {"name": ["This field may not be blank."]}),
        (
            {"name": "x" * 101},
            {"name": ["Ensure this field has no more than 100 characters."]},
        ),
        ({"name": "a\x00b"}, {"name": ["Null characters are not allowed."]}),
        ({"name": ["a"]}, {"name": ["Not a valid string."]}),
        (
            {"name": "ci", "expires_in_days": 0},
            {"expires_in_days": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {"name": "ci", "expires_in_days": 10**30},
            {"expires_in_days": ["Ensure this value is less than or equal to 3650."]},
        ),
        (
            {"name": "ci", "expires_in_days": "soon"},
            {"expires_in_days": ["A valid integer is required."]},
        ),
    ],
    ids=[
        "missing",
        "blank",
        "long",
        "nul",
        "list",
        "zero-days",
        "huge-days",
        "text-days",
    ],
)
def test_bad_input_is_a_field_error(
    signed_in: APIClient, body: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    """Each mistake answers 400 naming its field; nothing is created."""
    response = signed_in.post(KEYS, body, format="json")
    assert (response.status_code, response.json()) == (400, errors)
    assert APIKey.objects.count() == 0


@pytest.mark.parametrize("field", ["owner", "expires_at", "prefix"])
def test_unknown_field_is_refused(signed_in: APIClient, field: str) -> None:
    """Keys such as "owner" or "expires_at" are refused, not silently ignored."""
    response = signed_in.post(KEYS, {"name": "ci", field: "x"}, format="json")
    assert response.status_code == 400
    assert f"Unknown field(s): {field}." in response.json()["non_field_errors"][0]


@pytest.mark.parametrize("body", ["[]", '"name"', "null", "12", "{not json"], ids=str)
def test_body_that_is_not_an_object_is_a_400(signed_in: APIClient, body: str) -> None:
    """A JSON body that is not an object, or not JSON, answers 400."""
    response = signed_in.post(KEYS, body, content_type="application/json")
    assert response.status_code == 400


def test_api_key_cannot_create_keys(erin: User) -> None:
    """A request made with an API key may not mint another key: 403."""
    _, raw_key = create_key(erin)
    response = with_key(raw_key).post(KEYS, {"name": "more"}, format="json")
    assert (response.status_code, response.json()) == (
        403,
        {"detail": MSG_KEY_CANNOT_CREATE},
    )
    assert APIKey.objects.count() == 1


def test_session_must_send_its_csrf_token(erin: User) -> None:
    """Session authentication keeps Django's CSRF check for writes."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(erin)
    response = client.post(KEYS, {"name": "ci"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")


def test_anonymous_gets_401(api_client: APIClient) -> None:
    """Without credentials every keys endpoint answers 401."""
    assert api_client.get(KEYS).status_code == 401
    assert api_client.post(KEYS, {"name": "x"}, format="json").status_code == 401


# --- list and detail ---------------------------------------------------------


def test_list_shows_only_own_keys(
    signed_in: APIClient, erin: User, make_user: Callable[..., User]
) -> None:
    """Another user's keys never appear, an Admin's included."""
    own, _ = create_key(erin, name="mine")
    create_key(make_user("root", "Admin"), name="theirs")
    body = signed_in.get(KEYS).json()
    assert body["count"] == 1
    assert [(row["id"], row["name"]) for row in body["results"]] == [(own.pk, "mine")]
    assert set(body["results"][0]) == LISTED


def test_admin_role_also_sees_only_own_keys(
    api_client: APIClient, erin: User, make_user: Callable[..., User]
) -> None:
    """The API lists one's own keys whatever the role (the admin shows all)."""
    create_key(erin)
    root = make_user("root", "Admin")
    api_client.force_login(root)
    assert api_client.get(KEYS).json()["count"] == 0


def test_list_reports_status(signed_in: APIClient, erin: User, now: datetime) -> None:
    """Each key says whether it is active, expired or revoked."""
    create_key(erin, name="old", now=now - timedelta(days=2), expires_at=now)
    revoked, _ = create_key(erin, name="revoked")
    signed_in.post(revoke(revoked))
    create_key(erin, name="live")
    statuses = {
        row["name"]: row["status"] for row in signed_in.get(KEYS).json()["results"]
    }
    assert statuses == {"old": "expired", "revoked": "revoked", "live": "active"}


def test_detail_of_own_key(signed_in: APIClient, erin: User) -> None:
    """GET /api/keys/{id} shows the key's fields, never its hash."""
    api_key, _ = create_key(erin, name="ci")
    response = signed_in.get(detail(api_key))
    assert response.status_code == 200
    assert response.json()["prefix"] == api_key.prefix
    assert set(response.json()) == LISTED


@pytest.mark.parametrize(
    "pk", ["0", "abc", "-1", "1.5", "0.5", "99999999999999999999", str(2**63), "\u0661"]
)
def test_bad_or_huge_id_is_404(signed_in: APIClient, pk: str) -> None:
    """Ids that cannot be a key's answer 404, never 500."""
    for response in (signed_in.get(detail(pk)), signed_in.post(revoke(pk))):
        assert response.status_code == 404


def test_other_users_key_is_404(
    signed_in: APIClient, make_user: Callable[..., User]
) -> None:
    """Another user's key cannot be seen or revoked: it does not exist here."""
    theirs, _ = create_key(make_user("vera", "Viewer"))
    for response in (
        signed_in.get(detail(theirs)),
        signed_in.post(revoke(theirs)),
    ):
        assert (response.status_code, response.json()) == (
            404,
            {"detail": MSG_NOT_FOUND},
        )
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


# --- revoke ------------------------------------------------------------------


def test_revoke_stops_the_key_and_is_audited(signed_in: APIClient, erin: User) -> None:
    """POST revoke answers the revoked key; the key then fails with 401."""
    api_key, raw_key = create_key(erin)
    response = signed_in.post(revoke(api_key), REMOTE_ADDR=CLIENT_IP)
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    api_key.refresh_from_db()
    assert api_key.revoked_by == erin
    event = AuditEvent.objects.get(action="revoke")
    assert (event.actor_repr, event.ip) == ("erin", CLIENT_IP)
    refused = with_key(raw_key).get(KEYS)
    assert (refused.status_code, refused.json()) == (401, {"detail": MSG_REVOKED})


def test_keys_are_revoked_not_deleted(signed_in: APIClient, erin: User) -> None:
    """There is no DELETE: a key is revoked and stays listed."""
    api_key, _ = create_key(erin)
    assert signed_in.delete(detail(api_key)).status_code == 405
    assert APIKey.objects.filter(pk=api_key.pk).exists()


def test_a_key_may_revoke_itself(erin: User) -> None:
    """Revoking only takes access away, so a key may do it (rotation)."""
    api_key, raw_key = create_key(erin)
    response = with_key(raw_key).post(revoke(api_key))
    assert (response.status_code, response.json()["status"]) == (200, "revoked")


def test_revoking_twice_is_harmless(signed_in: APIClient, erin: User) -> None:
    """A second revoke answers the same and records no second event."""
    api_key, _ = create_key(erin)
    first = signed_in.post(revoke(api_key)).json()
    second = signed_in.post(revoke(api_key)).json()
    assert first == second
    assert AuditEvent.objects.filter(action="revoke").count() == 1


# --- a key acts with its owner's rights -------------------------------------

JOB = {
    "name": "nightly",
    "script": "ok.py",
    "schedules": [{"type": "daily", "time": "09:00"}],
}


def test_viewers_key_cannot_create_a_job(
    make_user: Callable[..., User], scripts_dir: Path
) -> None:
    """A key has exactly its owner's rights: a Viewer's key is refused (403)."""
    _, raw_key = create_key(make_user("vera", "Viewer"))
    response = with_key(raw_key).post(JOBS, JOB, format="json")
    assert (response.status_code, response.json()) == (
        403,
        {"detail": MSG_FORBIDDEN.format(action="create jobs")},
    )


def test_editors_key_creates_a_job_owned_by_the_editor(
    erin: User, scripts_dir: Path
) -> None:
    """An Editor's key creates a job, which the Editor then owns."""
    _, raw_key = create_key(erin)
    response = with_key(raw_key).post(JOBS, JOB, format="json")
    assert response.status_code == 201, response.json()
    event = AuditEvent.objects.filter(target_type="jobs.job", action="create").get()
    assert event.actor_repr == "erin"


def test_body_must_be_json(signed_in: APIClient) -> None:
    """A form-encoded body is refused with 415."""
    response = signed_in.post(KEYS, {"name": "ci"}, format="multipart")
    assert response.status_code == 415
