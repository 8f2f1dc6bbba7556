"""API authentication: API keys in headers, JWT, and 401 for no credentials."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import APIKey
from accounts.services.api_keys import (
    MSG_EXPIRED,
    MSG_INVALID,
    MSG_OWNER_INACTIVE,
    MSG_REVOKED,
    api_key_revoke,
)
from accounts.tests.keys import create_key
from accounts.tests.users import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/api/keys"
TOKEN = "/api/auth/token"
REFRESH = "/api/auth/token/refresh"
CHALLENGE = 'Api-Key realm="api"'
MSG_NO_ACCOUNT = "No active account found with the given credentials"


@pytest.fixture
def erin(make_user: Callable[..., User]) -> User:
    """Return an Editor."""
    return make_user("erin", "Editor")


@pytest.fixture
def key(erin: User) -> tuple[APIKey, str]:
    """Return one of erin's keys and the full key."""
    return create_key(erin)


def get(**headers: Any) -> Any:
    """GET the keys list with these headers (META names)."""
    return APIClient().get(URL, **headers)


# --- API keys ----------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        lambda key: {"HTTP_AUTHORIZATION": f"Api-Key {key}"},
        lambda key: {"HTTP_AUTHORIZATION": f"api-key   {key} "},
        lambda key: {"HTTP_X_API_KEY": key},
    ],
    ids=["authorization", "authorization-any-case", "x-api-key"],
)
def test_key_authenticates_as_its_owner(
    key: tuple[APIKey, str], header: Callable[[str], dict[str, str]]
) -> None:
    """Either header works; the request sees the owner's own keys."""
    api_key, raw_key = key
    response = get(**header(raw_key))
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [api_key.pk]


def test_use_is_recorded(key: tuple[APIKey, str]) -> None:
    """An authenticated request sets the key's last use."""
    api_key, raw_key = key
    get(HTTP_X_API_KEY=raw_key)
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_API_KEY": "jtp_ABCDEFGH_" + "A" * 43},
        {"HTTP_X_API_KEY": ""},
        {"HTTP_X_API_KEY": "x" * 100_000},
        {"HTTP_X_API_KEY": "jtp_ÄÖÜßäöüé_" + "A" * 43},
        {"HTTP_AUTHORIZATION": "Api-Key"},
        {"HTTP_AUTHORIZATION": "Api-Key a b c"},
        {"HTTP_AUTHORIZATION": "Api-Key \x00"},
    ],
    ids=["unknown", "empty", "huge", "non-ascii", "no-key", "spaces", "nul"],
)
def test_bad_key_is_401(headers: dict[str, str]) -> None:
    """A key that is given but wrong answers 401 "Invalid API key."."""
    response = get(**headers)
    assert (response.status_code, response.json()) == (401, {"detail": MSG_INVALID})
    assert response["WWW-Authenticate"] == CHALLENGE


def test_revoked_key_is_401(key: tuple[APIKey, str], now: datetime) -> None:
    """A revoked key says so."""
    api_key, raw_key = key
    api_key_revoke(api_key=api_key, actor=None, now=now)
    response = get(HTTP_X_API_KEY=raw_key)
    assert (response.status_code, response.json()) == (401, {"detail": MSG_REVOKED})


def test_expired_key_is_401(erin: User, now: datetime) -> None:
    """A key past its expiry time says so."""
    _, raw_key = create_key(erin, now=now - timedelta(days=1), expires_at=now)
    response = get(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    assert (response.status_code, response.json()) == (401, {"detail": MSG_EXPIRED})


def test_key_of_inactive_owner_is_401(erin: User, key: tuple[APIKey, str]) -> None:
    """Deactivating the owner stops the key at once."""
    erin.is_active = False
    erin.save()
    response = get(HTTP_X_API_KEY=key[1])
    assert (response.status_code, response.json()) == (
        401,
        {"detail": MSG_OWNER_INACTIVE},
    )


def test_bad_key_is_not_rescued_by_a_session(erin: User) -> None:
    """A wrong key fails even beside a good session: no silent fallback."""
    client = APIClient()
    client.force_login(erin)
    response = client.get(URL, HTTP_X_API_KEY="wrong")
    assert response.status_code == 401


def test_no_credentials_is_401_with_a_challenge() -> None:
    """DRF answers 401 (not 403) and names the API key scheme."""
    response = get()
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == CHALLENGE


def test_schema_documents_api_key_and_jwt(api_client: APIClient) -> None:
    """The OpenAPI schema names both schemes and uses them on /api/keys."""
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKeyAuth"]["type"] == "apiKey"
    assert (schemes["apiKeyAuth"]["in"], schemes["apiKeyAuth"]["name"]) == (
        "header",
        "X-API-Key",
    )
    assert (schemes["jwtAuth"]["scheme"], schemes["jwtAuth"]["bearerFormat"]) == (
        "bearer",
        "JWT",
    )
    assert {"apiKeyAuth": []} in schema["paths"]["/api/keys"]["get"]["security"]
    assert {"jwtAuth": []} in schema["paths"]["/api/keys"]["get"]["security"]


# --- JWT ---------------------------------------------------------------------


def obtain(username: str = "erin", password: str = PASSWORD) -> Any:
    """POST a username and password to the token endpoint."""
    return APIClient().post(
        TOKEN, {"username": username, "password": password}, format="json"
    )


def bearer(token: str) -> APIClient:
    """Return a client sending `token` as a bearer token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_token_from_password_works_for_requests(erin: User) -> None:
    """A token obtained with the password authenticates GET requests."""
    response = obtain()
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    assert bearer(response.json()["access"]).get(URL).status_code == 200


def test_wrong_password_gets_no_token(erin: User) -> None:
    """A wrong password is 401."""
    response = obtain(password="wrong")
    assert (response.status_code, response.json()["detail"]) == (401, MSG_NO_ACCOUNT)


def test_inactive_user_gets_no_token(erin: User) -> None:
    """An inactive user cannot obtain a token, even with the right password."""
    erin.is_active = False
    erin.save()
    response = obtain()
    assert (response.status_code, response.json()["detail"]) == (401, MSG_NO_ACCOUNT)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{}", "application/json"),
        ("[]", "application/json"),
        ('"erin"', "application/json"),
        ("{bad json", "application/json"),
        ('{"username": {"a": 1}, "password": "x"}', "application/json"),
        ('{"username": "er\\u0000in", "password": "x"}', "application/json"),
        ('{"username": "erin", "password": null}', "application/json"),
        ('{"username": "erin", "password": ""}', "application/json"),
    ],
    ids=["empty", "list", "string", "not-json", "object-name", "nul", "null", "blank"],
)
def test_bad_token_request_is_400(erin: User, body: str, content_type: str) -> None:
    """Bodies the endpoint cannot read answer 400, never 500."""
    response = APIClient().post(TOKEN, body, content_type=content_type)
    assert response.status_code == 400


def test_tampered_token_is_401(erin: User) -> None:
    """Changing a token's signature makes it worthless."""
    access = obtain().json()["access"]
    head, payload, signature = access.split(".")
    forged = f"{head}.{payload}.{signature[::-1]}"
    response = bearer(forged).get(URL)
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")


def test_expired_token_is_401(erin: User) -> None:
    """A token past its expiry is refused."""
    token = AccessToken.for_user(erin)
    token.set_exp(lifetime=-timedelta(seconds=1))
    response = bearer(str(token)).get(URL)
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")


def test_token_of_deactivated_user_is_401(erin: User) -> None:
    """A token issued before deactivation stops working."""
    access = obtain().json()["access"]
    erin.is_active = False
    erin.save()
    assert bearer(access).get(URL).status_code == 401


def test_changing_the_password_ends_tokens(erin: User) -> None:
    """After a password change, older access and refresh tokens are refused."""
    tokens = obtain().json()
    erin.set_password("another long password 42")
    erin.save()
    assert bearer(tokens["access"]).get(URL).status_code == 401
    response = APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401


def test_refresh_gives_a_working_access_token(erin: User) -> None:
    """The refresh token yields a new access token that works."""
    refresh = obtain().json()["refresh"]
    response = APIClient().post(REFRESH, {"refresh": refresh}, format="json")
    assert response.status_code == 200
    assert bearer(response.json()["access"]).get(URL).status_code == 200


def test_access_token_cannot_refresh(erin: User) -> None:
    """Only a refresh token refreshes."""
    access = obtain().json()["access"]
    response = APIClient().post(REFRESH, {"refresh": access}, format="json")
    assert response.status_code == 401


def test_refresh_of_deleted_user_is_401(erin: User) -> None:
    """A refresh token whose user is gone is refused, not a server error."""
    refresh = str(RefreshToken.for_user(erin))
    erin.delete()
    response = APIClient().post(REFRESH, {"refresh": refresh}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [{}, {"refresh": ""}, {"refresh": ["x"]}, {"refresh": None}],
    ids=["missing", "blank", "list", "null"],
)
def test_bad_refresh_request_is_400(body: dict[str, Any]) -> None:
    """A missing or malformed refresh field is a field error."""
    response = APIClient().post(REFRESH, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["refresh"]


def test_unreadable_refresh_token_is_401() -> None:
    """A refresh value that is no token is refused as a bad token."""
    response = APIClient().post(REFRESH, {"refresh": "not.a.token"}, format="json")
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")
