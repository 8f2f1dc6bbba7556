"""The blackout calendar admin: add with inline windows, who may manage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import ADMIN, EDITOR, VIEWER
from jobs.models import BlackoutCalendar, BlackoutWindow

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

ADD = "admin:jobs_blackoutcalendar_add"
CHANGELIST = "admin:jobs_blackoutcalendar_changelist"


def form_data(**windows: Any) -> dict[str, Any]:
    """Return the add form's POST data with one holiday row."""
    data = {
        "name": "hk-holidays",
        "description": "",
        "timezone": "Asia/Hong_Kong",
        "is_global": "on",
        "windows-TOTAL_FORMS": "2",
        "windows-INITIAL_FORMS": "0",
        "windows-MIN_NUM_FORMS": "0",
        "windows-MAX_NUM_FORMS": "1000",
        "windows-0-kind": "holiday",
        "windows-0-label": "Christmas",
        "windows-0-day": "2026-12-25",
        # An untouched extra row.
        "windows-1-kind": "",
    }
    data.update(windows)
    return data


def signed_in(client: Client, make_user: Callable[..., User], role: str) -> Client:
    """Sign `client` in as a staff user of `role`."""
    client.force_login(make_user(role.lower(), role))
    return client


def test_an_admin_adds_a_calendar_with_a_holiday_row(
    client: Client, make_user: Callable[..., User]
) -> None:
    """Saved through the service: the window is stored and the add audited."""
    response = signed_in(client, make_user, ADMIN).post(reverse(ADD), form_data())
    assert response.status_code == 302, response.content.decode()[:2000]
    calendar = BlackoutCalendar.objects.get()
    assert calendar.is_global is True
    assert [(w.kind, w.day) for w in calendar.windows.all()] == [
        (BlackoutWindow.Kind.HOLIDAY, date(2026, 12, 25))
    ]
    assert AuditEvent.objects.filter(target_type="jobs.blackoutcalendar").count() == 1


def test_a_row_missing_its_kinds_fields_is_a_form_error(
    client: Client, make_user: Callable[..., User]
) -> None:
    """A weekly row without times re-shows the form; nothing is saved."""
    data = form_data(**{"windows-0-kind": "weekly", "windows-0-day": ""})
    response = signed_in(client, make_user, ADMIN).post(reverse(ADD), data)
    assert response.status_code == 200
    assert "A weekly window needs: weekday, start_time, end_time." in (
        response.content.decode()
    )
    assert not BlackoutCalendar.objects.exists()


@pytest.mark.parametrize("role", [EDITOR, VIEWER])
def test_other_roles_see_calendars_but_may_not_add_them(
    client: Client, make_user: Callable[..., User], role: str
) -> None:
    """The list answers; the add page is refused."""
    signed_in(client, make_user, role)
    assert client.get(reverse(CHANGELIST)).status_code == 200
    assert client.post(reverse(ADD), form_data()).status_code == 403
    assert not BlackoutCalendar.objects.exists()


def test_changing_a_calendar_keeps_its_rows_and_drops_the_deleted_ones(
    client: Client, make_user: Callable[..., User]
) -> None:
    """A row marked for deletion goes; the others stay as edited."""
    signed_in(client, make_user, ADMIN).post(
        reverse(ADD),
        form_data(
            **{
                "windows-1-kind": "holiday",
                "windows-1-day": "2026-12-26",
                "windows-1-label": "Boxing Day",
            }
        ),
    )
    calendar = BlackoutCalendar.objects.get()
    first, second = calendar.windows.order_by("day")
    data = form_data(
        **{
            "windows-TOTAL_FORMS": "2",
            "windows-INITIAL_FORMS": "2",
            "windows-0-id": str(first.pk),
            "windows-0-calendar": str(calendar.pk),
            "windows-0-label": "Christmas Day",
            "windows-1-id": str(second.pk),
            "windows-1-calendar": str(calendar.pk),
            "windows-1-kind": "holiday",
            "windows-1-day": "2026-12-26",
            "windows-1-DELETE": "on",
        }
    )
    change = reverse("admin:jobs_blackoutcalendar_change", args=[calendar.pk])
    assert client.post(change, data).status_code == 302
    assert [w.label for w in calendar.windows.all()] == ["Christmas Day"]
