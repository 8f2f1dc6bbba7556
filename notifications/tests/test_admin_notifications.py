"""The notifications admin: who may do what, write-only secrets, test sends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import AuditEvent
from accounts.roles import ADMIN, EDITOR, VIEWER
from jobportal import clock
from jobs.tests.factories import JobFactory
from notifications.models import Channel, Notification, Rule
from notifications.services.channels import channel_save, channel_secrets
from notifications.services.delivery import notification_test_queue

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/secret-path"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def hook(now: datetime) -> Channel:
    return channel_save(
        channel=Channel(name="ops", kind="webhook"), secrets={"url": URL}, now=now
    )


def test_an_admin_adds_a_channel_whose_secret_is_never_shown(
    make_user: Callable[..., User], frozen_clock: object
) -> None:
    """The URL is stored encrypted; the change page names it, never shows it."""
    client = signed_in(make_user("ada", ADMIN))
    answer = client.post(
        "/admin/notifications/channel/add/",
        {
            "name": "alerts",
            "kind": "slack",
            "is_active": "on",
            "config": "{}",
            "rate_per_hour": "0",
            "rate_burst": "5",
            "secret_url": URL,
        },
    )
    assert answer.status_code == 302
    channel = Channel.objects.get(name="alerts")
    assert channel_secrets(channel) == {"url": URL}
    page = client.get(f"/admin/notifications/channel/{channel.pk}/change/")
    assert URL not in page.content.decode()
    assert "Secrets set" in page.content.decode()
    assert AuditEvent.objects.filter(target_type="notifications.channel").count() == 1


def test_a_channel_without_its_url_is_a_form_error(
    make_user: Callable[..., User], frozen_clock: object
) -> None:
    """No 500: the page names what is missing."""
    client = signed_in(make_user("ada", ADMIN))
    answer = client.post(
        "/admin/notifications/channel/add/",
        {
            "name": "x",
            "kind": "webhook",
            "config": "{}",
            "rate_per_hour": "0",
            "rate_burst": "5",
        },
    )
    assert answer.status_code == 200
    assert "secrets.url: Required for a webhook channel." in answer.content.decode()


def test_a_broken_template_is_refused_naming_the_line(
    make_user: Callable[..., User], frozen_clock: object
) -> None:
    """The form shows the line of the syntax error."""
    client = signed_in(make_user("ada", ADMIN))
    answer = client.post(
        "/admin/notifications/channel/add/",
        {
            "name": "x",
            "kind": "slack",
            "config": "{}",
            "rate_per_hour": "0",
            "rate_burst": "5",
            "secret_url": URL,
            "body_template": "ok\n{{ job|nosuchfilter }}",
        },
    )
    assert "Line 2: Invalid filter: &#x27;nosuchfilter&#x27;" in answer.content.decode()
    assert Channel.objects.count() == 0


def test_editors_manage_channels_and_viewers_may_not(
    make_user: Callable[..., User], hook: Channel
) -> None:
    """The Admin and Editor roles add and change channels (DESIGN.md); Viewers not."""
    editor = signed_in(make_user("editor", EDITOR))
    assert editor.get("/admin/notifications/channel/add/").status_code == 200
    viewer = signed_in(make_user("viewer", VIEWER))
    assert viewer.get("/admin/notifications/channel/add/").status_code == 403


def test_send_test_notification_queues_one_message(
    make_user: Callable[..., User], hook: Channel, frozen_clock: object
) -> None:
    """The action queues a test row the worker delivers."""
    client = signed_in(make_user("ada", ADMIN))
    client.post(
        "/admin/notifications/channel/",
        {"action": "send_test", "_selected_action": [hook.pk]},
    )
    row = Notification.objects.get()
    assert (row.channel, row.event, row.status) == (hook, "test", "pending")


def test_an_editor_sets_rules_on_own_jobs_only(
    make_user: Callable[..., User],
    hook: Channel,
    frozen_clock: object,
    scripts_dir: object,
) -> None:
    """A rule on their job is saved (audited); every job or another's is refused."""
    editor = make_user("ed", EDITOR)
    own = JobFactory.create(name="mine", owner=editor)
    other = JobFactory.create(name="theirs")
    client = signed_in(editor)
    base = {
        "channel": hook.pk,
        "triggers": '["failure"]',
        "failing_n": "0",
        "only_on_change": "on",
        "is_active": "on",
    }
    assert (
        client.post(
            "/admin/notifications/rule/add/", {**base, "job": own.pk}
        ).status_code
        == 302
    )
    refused_global = client.post("/admin/notifications/rule/add/", base)
    refused_other = client.post(
        "/admin/notifications/rule/add/", {**base, "job": other.pk}
    )
    assert refused_global.status_code == refused_other.status_code == 200
    assert list(Rule.objects.values_list("job__name", flat=True)) == ["mine"]
    assert AuditEvent.objects.filter(target_type="notifications.rule").count() == 1


def test_deliveries_are_read_only_and_filterable(
    make_user: Callable[..., User],
    hook: Channel,
    frozen_clock: object,
) -> None:
    """The list filters by status; nothing can be added."""
    notification_test_queue(channel=hook, now=clock.now())
    client = signed_in(make_user("ada", ADMIN))
    listing = client.get("/admin/notifications/notification/?status__exact=pending")
    assert listing.status_code == 200
    assert f"/admin/notifications/notification/{Notification.objects.get().pk}/" in (
        listing.content.decode()
    )
    assert client.get("/admin/notifications/notification/add/").status_code == 403
