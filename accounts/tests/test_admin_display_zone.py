"""The per-user display zone: the setting page and the times it changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.models import MSG_UNKNOWN_TIMEZONE, AuditEvent, UserPreference
from accounts.services.audit import AuditTarget, audit_record

pytestmark = pytest.mark.django_db

EVENTS = "admin:accounts_auditevent_changelist"
SETTINGS = "admin:accounts_userpreference_changelist"
AT = datetime(2026, 12, 2, 13, 3, 58, tzinfo=UTC)


@pytest.fixture
def event(settings: object) -> AuditEvent:
    """Return one audit event at 13:03:58 UTC; the portal zone is Hong Kong."""
    settings.JOB_PORTAL_TIMEZONE = "Asia/Hong_Kong"  # type: ignore[attr-defined]
    target = AuditTarget(type="jobs.job", id="1", repr="nightly")
    return audit_record(
        actor=None, action=AuditEvent.Action.CREATE, target=target, now=AT
    )


def test_audit_times_default_to_the_portal_zone_with_seconds(
    admin_client: Client, event: AuditEvent
) -> None:
    """21:03:58 HKT with UTC on hover; the column says which zone."""
    page = admin_client.get(reverse(EVENTS)).content.decode()
    assert "At (Asia/Hong_Kong)" in page
    assert 'title="2026-12-02 13:03:58 UTC"' in page
    assert "2026-12-02 21:03:58 HKT</time>" in page


def test_a_users_zone_changes_every_time_shown_to_them(
    admin_client: Client, admin_user: User, event: AuditEvent
) -> None:
    """The list and the event page follow the chosen zone."""
    UserPreference.objects.create(user=admin_user, timezone="Europe/Paris")
    listing = admin_client.get(reverse(EVENTS)).content.decode()
    detail = admin_client.get(
        reverse("admin:accounts_auditevent_change", args=[event.pk])
    ).content.decode()
    assert "At (Europe/Paris)" in listing
    assert "2026-12-02 14:03:58 CET</time>" in listing
    assert "2026-12-02 14:03:58 CET</time>" in detail


def test_the_settings_page_opens_ones_own_and_saves_a_zone(
    client: Client, make_user: Callable[..., User]
) -> None:
    """Any staff user reaches their own row and sets a zone."""
    user = make_user("vera", "Viewer")
    client.force_login(user)
    response = client.get(reverse(SETTINGS))
    preference = UserPreference.objects.get(user=user)
    change = reverse("admin:accounts_userpreference_change", args=[preference.pk])
    assert response["Location"] == change
    saved = client.post(change, {"timezone": "America/New_York"})
    assert saved.status_code == 302
    preference.refresh_from_db()
    assert preference.timezone == "America/New_York"


def test_an_unknown_zone_is_refused_by_name(
    admin_client: Client, admin_user: User
) -> None:
    """A typo is a form error naming the value."""
    preference = UserPreference.objects.create(user=admin_user)
    change = reverse("admin:accounts_userpreference_change", args=[preference.pk])
    response = admin_client.post(change, {"timezone": "Asia/Hong Kong"})
    assert response.status_code == 200
    message = MSG_UNKNOWN_TIMEZONE.format(name="Asia/Hong Kong")
    assert escape(message) in response.content.decode()


def test_nobody_sees_another_users_settings(
    client: Client, admin_user: User, make_user: Callable[..., User]
) -> None:
    """Even a superuser's row is out of another user's reach."""
    other = UserPreference.objects.create(user=admin_user, timezone="UTC")
    client.force_login(make_user("vera", "Viewer"))
    change = reverse("admin:accounts_userpreference_change", args=[other.pk])
    response = client.get(change)
    assert response.status_code == 302
    assert client.post(change, {"timezone": "Europe/Paris"}).status_code in (302, 403)
    other.refresh_from_db()
    assert other.timezone == "UTC"
