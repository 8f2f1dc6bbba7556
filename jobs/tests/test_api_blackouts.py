"""The blackout calendars API: CRUD with windows, the Admin role manages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.roles import ADMIN, EDITOR, VIEWER
from jobs.api.access import MSG_FORBIDDEN
from jobs.api.views.blackouts import ACTION_MANAGE, MSG_WEEKDAY
from jobs.models import BlackoutCalendar

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

URL = "/api/blackouts"
BODY: dict[str, Any] = {
    "name": "hk-holidays",
    "timezone": "Asia/Hong_Kong",
    "global": True,
    "windows": [
        {"kind": "holiday", "day": "2026-12-25", "label": "Christmas"},
        {
            "kind": "weekly",
            "weekday": "sun",
            "start_time": "22:00",
            "end_time": "02:00",
        },
        {
            "kind": "one_off",
            "starts_at": "2026-05-01T01:00:00Z",
            "ends_at": "2026-05-01T03:00:00Z",
            "label": "deploy",
        },
    ],
}


def client_for(make_user: Callable[..., User], role: str) -> APIClient:
    """Return an API client signed in as a user of `role`."""
    client = APIClient()
    client.force_authenticate(make_user(role.lower(), role))
    return client


def test_an_admin_creates_a_calendar_with_its_windows(
    make_user: Callable[..., User],
) -> None:
    """201 with the calendar as stored; audited."""
    response = client_for(make_user, ADMIN).post(URL, BODY, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["name"], data["global"], data["jobs"]) == ("hk-holidays", True, [])
    assert [w["kind"] for w in data["windows"]] == ["holiday", "one_off", "weekly"]
    weekly = data["windows"][2]
    assert (weekly["weekday"], weekly["start_time"], weekly["end_time"]) == (
        "sun",
        "22:00:00",
        "02:00:00",
    )
    assert AuditEvent.objects.filter(
        target_type="jobs.blackoutcalendar", action="create"
    ).exists()


@pytest.mark.parametrize("role", [EDITOR, VIEWER])
def test_other_roles_read_calendars_but_may_not_create_them(
    make_user: Callable[..., User], role: str
) -> None:
    """403 naming the action; the list still answers."""
    client = client_for(make_user, role)
    response = client.post(URL, BODY, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": MSG_FORBIDDEN.format(action=ACTION_MANAGE)}
    assert client.get(URL).status_code == 200


def test_signed_out_is_401() -> None:
    """No credentials, no calendars."""
    assert APIClient().get(URL).status_code == 401


def test_a_window_missing_its_fields_is_a_400_naming_it(
    make_user: Callable[..., User],
) -> None:
    """The window's position and field, and nothing written."""
    body = {**BODY, "windows": [{"kind": "weekly", "weekday": "mon"}]}
    response = client_for(make_user, ADMIN).post(URL, body, format="json")
    assert response.status_code == 400
    message = "A weekly window needs: weekday, start_time, end_time."
    assert response.json() == {
        "windows": [
            f"Window 1: start_time: {message}",
            f"Window 1: end_time: {message}",
        ]
    }
    assert not BlackoutCalendar.objects.exists()


def test_a_bad_weekday_and_zone_are_named(make_user: Callable[..., User]) -> None:
    """400 with the field's message, never a 500."""
    body = {
        **BODY,
        "timezone": "Mars/Olympus",
        "windows": [
            {
                "kind": "weekly",
                "weekday": "funday",
                "start_time": "1:00",
                "end_time": "2:00",
            }
        ],
    }
    client = client_for(make_user, ADMIN)
    response = client.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["windows"] == [
        {"weekday": [MSG_WEEKDAY.format(choices="mon, tue, wed, thu, fri, sat, sun")]}
    ]
    body["windows"] = []
    response = client.post(URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["timezone"]


def test_unknown_keys_are_refused(make_user: Callable[..., User]) -> None:
    """A misspelt key is named, not ignored."""
    response = client_for(make_user, ADMIN).post(
        URL, {**BODY, "globl": True}, format="json"
    )
    assert response.status_code == 400
    assert "globl" in str(response.json())


def test_patch_changes_fields_and_put_replaces_the_windows(
    make_user: Callable[..., User],
) -> None:
    """PATCH without windows keeps them; PUT with an empty list removes them."""
    client = client_for(make_user, ADMIN)
    pk = client.post(URL, BODY, format="json").json()["id"]
    response = client.patch(f"{URL}/{pk}", {"global": False}, format="json")
    assert response.status_code == 200
    assert (response.json()["global"], len(response.json()["windows"])) == (False, 3)
    response = client.put(f"{URL}/{pk}", {**BODY, "windows": []}, format="json")
    assert (response.status_code, response.json()["windows"]) == (200, [])


def test_delete_removes_the_calendar_and_is_audited(
    make_user: Callable[..., User],
) -> None:
    """204, then 404."""
    client = client_for(make_user, ADMIN)
    pk = client.post(URL, BODY, format="json").json()["id"]
    assert client.delete(f"{URL}/{pk}").status_code == 204
    assert client.get(f"{URL}/{pk}").status_code == 404
    assert AuditEvent.objects.filter(
        target_type="jobs.blackoutcalendar", action="delete"
    ).exists()
