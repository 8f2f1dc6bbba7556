"""`GET /api/workers`: read-only, with the admin's right to see workers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from jobportal.tests.clocks import FrozenClock
from jobs.tests.factories import SLOT, WorkerFactory

pytestmark = pytest.mark.django_db

URL = "/api/workers"


@pytest.fixture
def workers(frozen_clock: FrozenClock) -> None:
    """One live worker, one silent for an hour, one stopped."""
    frozen_clock.set(SLOT + timedelta(seconds=10))
    WorkerFactory.create(name="live", last_heartbeat_at=SLOT)
    WorkerFactory.create(name="silent", last_heartbeat_at=SLOT - timedelta(hours=1))
    WorkerFactory.create(
        name="stopped", last_heartbeat_at=SLOT - timedelta(minutes=5), stopped_at=SLOT
    )


@pytest.mark.parametrize("role", ["Admin", "Editor", "Viewer"])
def test_roles_list_workers_newest_heartbeat_first(
    api_client: APIClient, workers: None, make_user: Callable[..., User], role: str
) -> None:
    """Name, host, pid, heartbeats and "alive", as the admin's page shows."""
    api_client.force_authenticate(make_user("someone", role))
    response = api_client.get(URL)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(w["name"], w["alive"]) for w in rows] == [
        ("live", True),
        ("stopped", False),
        ("silent", False),
    ]
    assert rows[0]["host"] == "host-a"


def test_without_the_right_it_is_403(
    api_client: APIClient, workers: None, make_user: Callable[..., User]
) -> None:
    """A user without a role cannot open the admin's Workers page either."""
    api_client.force_authenticate(make_user("nobody"))
    assert api_client.get(URL).status_code == 403


def test_it_is_read_only(
    api_client: APIClient, workers: None, make_user: Callable[..., User]
) -> None:
    """POST is not allowed, even for an Admin."""
    api_client.force_authenticate(make_user("boss", "Admin"))
    assert api_client.post(URL, {}, format="json").status_code == 405
