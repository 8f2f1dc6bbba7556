"""Every API list pages the same way; a bad page size is a 400, not ignored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User

from accounts.roles import ADMIN
from jobportal.api.pagination import MSG_PAGE_SIZE
from jobs.tests.factories import JobFactory
from jobs.tests.run_records import SLOT, make_run

pytestmark = pytest.mark.django_db

MESSAGE = MSG_PAGE_SIZE.format(maximum=200)


@pytest.fixture
def client(api_client: Any, make_user: Any) -> Any:
    """Return an API client signed in as an Admin."""
    user: User = make_user("root", ADMIN)
    api_client.force_authenticate(user)
    return api_client


@pytest.mark.parametrize("value", ["0", "201", "abc", "1.5", "-3", "", "٣"])
def test_a_page_size_out_of_range_or_not_a_number_is_refused(
    client: Any, value: str
) -> None:
    """page_size must be 1-200: the answer names the parameter."""
    response = client.get("/api/logs", {"page_size": value})
    assert response.status_code == 400
    assert response.json() == {"page_size": [MESSAGE]}


def test_a_page_size_given_twice_is_refused(client: Any) -> None:
    """Two values: which one was meant is unknown."""
    response = client.get("/api/logs?page_size=5&page_size=6")
    assert response.status_code == 400


def test_the_page_size_limits_the_page(client: Any, scripts_dir: Any, now: Any) -> None:
    """page_size 2 of 3 runs: two on the first page, one on the next."""
    job = JobFactory.create(
        name="nightly", schedules=[{"type": "daily", "time": "09:00"}], now=now
    )
    for hours in range(3):
        make_run(job, scheduled_for=SLOT - timedelta(hours=hours))
    first = client.get("/api/logs", {"page_size": "2"}).json()
    assert (first["count"], len(first["results"])) == (3, 2)
    second = client.get("/api/logs", {"page_size": "2", "page": "2"}).json()
    assert len(second["results"]) == 1
