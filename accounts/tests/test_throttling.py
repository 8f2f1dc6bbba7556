"""Rate limits per client: each API key, each user, each anonymous address.

Rates are set small through the settings; the throttle's clock is replaced
by a settable one, so that time steps without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import caches
from rest_framework.test import APIClient

from accounts.tests.keys import create_key
from accounts.tests.users import PASSWORD
from jobportal.api.throttling import ClientRateThrottle

pytestmark = pytest.mark.django_db

URL = "/api/keys"
TOKEN = "/api/auth/token"
START = 1_000_000.0


class Clock:
    """A settable stand-in for `time.time`."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Drive the throttle's clock by hand."""
    fake = Clock(START)
    monkeypatch.setattr(ClientRateThrottle, "timer", fake)
    return fake


@pytest.fixture(autouse=True)
def small_rates(settings: Any, clock: Clock) -> None:
    """Allow 2 requests a minute per client, 1 for anonymous clients."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "2/minute", "anon": "1/minute"},
    }
    caches["throttle"].clear()


@pytest.fixture
def erin(make_user: Callable[..., User]) -> User:
    """Return an Editor."""
    return make_user("erin", "Editor")


def key_client(owner: User) -> APIClient:
    """Return a client using a new API key of `owner`."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=create_key(owner)[1])
    return client


def session_client(user: User) -> APIClient:
    """Return a client signed in as `user`."""
    client = APIClient()
    client.force_login(user)
    return client


def statuses(client: APIClient, count: int) -> list[int]:
    """Send `count` GET requests and return their status codes."""
    return [client.get(URL).status_code for _ in range(count)]


def test_request_over_the_rate_gets_429_with_retry_after(
    erin: User, clock: Clock
) -> None:
    """The third request in a minute is refused and says when to retry."""
    client = key_client(erin)
    assert statuses(client, 2) == [200, 200]
    clock.now += 10
    response = client.get(URL)
    assert response.status_code == 429
    assert response["Retry-After"] == "50"
    assert response.json() == {
        "detail": "Request was throttled. Expected available in 50 seconds."
    }


def test_requests_are_allowed_again_after_the_period(erin: User, clock: Clock) -> None:
    """Once a minute has passed since the first request, one more is allowed."""
    client = key_client(erin)
    statuses(client, 2)
    clock.now += 60
    assert statuses(client, 1) == [200]


def test_each_key_is_counted_apart_from_its_owner(erin: User) -> None:
    """A key that used its rate stops neither the owner's session nor other keys."""
    busy = key_client(erin)
    assert statuses(busy, 3) == [200, 200, 429]
    assert statuses(session_client(erin), 2) == [200, 200]
    assert statuses(key_client(erin), 2) == [200, 200]


def test_session_and_jwt_of_a_user_share_one_count(erin: User) -> None:
    """Without a key, the client is the user, however they sign in."""
    assert statuses(session_client(erin), 2) == [200, 200]
    access = APIClient().post(TOKEN, {"username": "erin", "password": PASSWORD})
    jwt = APIClient()
    jwt.credentials(HTTP_AUTHORIZATION=f"Bearer {access.json()['access']}")
    assert statuses(jwt, 1) == [429]


def test_users_are_counted_apart(erin: User, make_user: Callable[..., User]) -> None:
    """One user's requests do not count against another's."""
    assert statuses(session_client(erin), 3) == [200, 200, 429]
    assert statuses(session_client(make_user("vera", "Viewer")), 2) == [200, 200]


def guess(address: str, **headers: Any) -> int:
    """Try a password on the token endpoint from `address`; return the status."""
    response = APIClient().post(
        TOKEN,
        {"username": "erin", "password": "guess"},
        format="json",
        REMOTE_ADDR=address,
        **headers,
    )
    return response.status_code


def test_anonymous_clients_are_counted_per_address(erin: User) -> None:
    """Password guesses are limited per address, at the anonymous rate."""
    assert [guess("192.0.2.1"), guess("192.0.2.1")] == [401, 429]
    assert guess("192.0.2.2") == 401


def test_forwarded_for_header_does_not_escape_the_limit(erin: User) -> None:
    """X-Forwarded-For is the client's to set, so it does not pick the counter."""
    assert guess("192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.1") == 401
    assert guess("192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.2") == 429


def test_counters_live_in_the_database_cache_table() -> None:
    """The test database has the cache table (created with the test database)."""
    cache = caches["throttle"]
    cache.set("probe", 1)
    # `_table` is the database cache's own attribute, not in the stubs.
    table = cache._table  # type: ignore[attr-defined]
    assert (table, cache.get("probe")) == ("jobportal_cache", 1)
