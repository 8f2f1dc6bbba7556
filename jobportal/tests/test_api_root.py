"""`GET /api/`: the root lists the API's links; the browsable API is branded."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db


def test_root_answers_with_links_to_resources_docs_and_schema(
    api_client: Any,
) -> None:
    """Open to all, like /api/health; every link is absolute."""
    response = api_client.get("/api/")
    assert response.status_code == 200
    body = response.json()
    assert body["docs"] == "http://testserver/api/docs/"
    assert body["schema"] == "http://testserver/api/schema/"
    assert body["admin"] == "http://testserver/admin/"
    assert body["resources"]["jobs"] == "http://testserver/api/jobs"
    assert body["resources"]["logs"] == "http://testserver/api/logs"
    assert body["resources"]["health"] == "http://testserver/api/health"
    assert set(body["resources"]) == {
        "jobs",
        "logs",
        "scripts",
        "versions",
        "schedule_preview",
        "keys",
        "token",
        "token_refresh",
        "health",
    }


def test_every_root_link_answers(api_client: Any, admin_user: User) -> None:
    """No link leads to a 404 (health may say 503: no worker runs here)."""
    api_client.force_authenticate(admin_user)
    body = api_client.get("/api/").json()
    for url in [*body["resources"].values(), body["schema"]]:
        path = url.removeprefix("http://testserver")
        assert api_client.get(path).status_code != 404, path


def test_browsable_api_is_branded_and_links_back_to_the_admin(
    client: Any, admin_user: User
) -> None:
    """The HTML pages name the portal, not Django REST framework."""
    client.force_login(admin_user)
    html = client.get("/api/jobs", HTTP_ACCEPT="text/html").content.decode()
    assert "Job Trigger Portal API</a>" in html
    assert '<a href="/admin/" class="portal-admin-link">Back to the admin</a>' in html
    assert "Django REST framework" not in html
