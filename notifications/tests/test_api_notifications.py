"""The notifications API: same rights and services as the admin."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User

from accounts.models import AuditEvent
from accounts.roles import ADMIN, EDITOR, VIEWER
from jobs.models import Job
from jobs.tests.factories import JobFactory
from notifications.models import Channel, JobState, Notification, Rule
from notifications.services.channels import channel_save, channel_secrets
from notifications.services.delivery import notification_test_queue

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/secret-path"


@pytest.fixture
def hook(now: datetime) -> Channel:
    return channel_save(
        channel=Channel(name="ops", kind="webhook"), secrets={"url": URL}, now=now
    )


def as_user(api_client: Any, user: User) -> Any:
    api_client.force_authenticate(user)
    return api_client


def test_an_admin_creates_a_channel_and_never_reads_its_secret(
    api_client: Any, make_user: Callable[..., User], frozen_clock: object
) -> None:
    """201; the answer names the stored secrets, never their values."""
    client = as_user(api_client, make_user("ada", ADMIN))
    answer = client.post(
        "/api/notifications/channels",
        {"name": "hook", "kind": "webhook", "secrets": {"url": URL, "secret": "k"}},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["secrets_set"] == ["secret", "url"]
    assert "secrets" not in body
    assert URL not in str(
        client.get(f"/api/notifications/channels/{body['id']}").json()
    )
    assert channel_secrets(Channel.objects.get()) == {"url": URL, "secret": "k"}
    assert AuditEvent.objects.filter(target_type="notifications.channel").count() == 1


def test_bad_channel_input_is_a_400_naming_the_field(
    api_client: Any, make_user: Callable[..., User], frozen_clock: object
) -> None:
    """A missing URL and a broken template are named, never a 500."""
    client = as_user(api_client, make_user("ada", ADMIN))
    missing = client.post(
        "/api/notifications/channels", {"name": "h", "kind": "webhook"}, format="json"
    )
    assert missing.status_code == 400
    assert missing.json() == {"secrets.url": ["Required for a webhook channel."]}
    broken = client.post(
        "/api/notifications/channels",
        {
            "name": "s",
            "kind": "slack",
            "secrets": {"url": URL},
            "subject_template": "{% if job %}",
        },
        format="json",
    )
    assert broken.status_code == 400
    assert broken.json()["subject_template"][0].startswith("Line 1: Unclosed tag")


def test_editors_manage_channels_and_viewers_only_see_them(
    api_client: Any, make_user: Callable[..., User], hook: Channel, frozen_clock: object
) -> None:
    """Editors write channels (DESIGN.md); Viewers read them and get 403 on writes."""
    new_channel = {"name": "x", "kind": "slack", "secrets": {"url": URL}}
    viewer = as_user(api_client, make_user("vi", VIEWER))
    assert viewer.get("/api/notifications/channels").status_code == 200
    answer = viewer.post("/api/notifications/channels", new_channel, format="json")
    assert answer.status_code == 403
    assert viewer.post(f"/api/notifications/channels/{hook.pk}/test").status_code == 403
    editor = as_user(api_client, make_user("ed", EDITOR))
    answer = editor.post("/api/notifications/channels", new_channel, format="json")
    assert answer.status_code == 201
    assert editor.post(f"/api/notifications/channels/{hook.pk}/test").status_code == 202


def test_send_test_notification_queues_a_row(
    api_client: Any, make_user: Callable[..., User], hook: Channel, frozen_clock: object
) -> None:
    """202 with the queued row's id."""
    client = as_user(api_client, make_user("ada", ADMIN))
    answer = client.post(f"/api/notifications/channels/{hook.pk}/test")
    assert answer.status_code == 202
    assert Notification.objects.get().pk == answer.json()["id"]


def test_an_editor_sets_rules_on_own_jobs_only(
    api_client: Any,
    make_user: Callable[..., User],
    hook: Channel,
    frozen_clock: object,
    scripts_dir: object,
) -> None:
    """Own job: 201 (audited); every job or another's: 403."""
    editor = make_user("ed", EDITOR)
    own = JobFactory.create(name="mine", owner=editor)
    other = JobFactory.create(name="theirs")
    client = as_user(api_client, editor)
    body = {"channel": hook.pk, "triggers": ["failure", "recovered"]}
    created = client.post(
        "/api/notifications/rules", {**body, "job": own.pk}, format="json"
    )
    assert created.status_code == 201, created.json()
    everyone = client.post(
        "/api/notifications/rules", {**body, "job": None}, format="json"
    )
    theirs = client.post(
        "/api/notifications/rules", {**body, "job": other.pk}, format="json"
    )
    assert (everyone.status_code, theirs.status_code) in ((403, 403), (403, 400))
    assert list(Rule.objects.values_list("job__name", flat=True)) == ["mine"]
    assert AuditEvent.objects.filter(target_type="notifications.rule").count() == 1


def test_an_unknown_event_is_a_400(
    api_client: Any, make_user: Callable[..., User], hook: Channel, frozen_clock: object
) -> None:
    """The message names the unknown event."""
    client = as_user(api_client, make_user("ada", ADMIN))
    answer = client.post(
        "/api/notifications/rules",
        {"channel": hook.pk, "triggers": ["explode"]},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["triggers"][0].startswith("Unknown event(s): explode.")


def test_deliveries_filter_by_status_channel_and_job(
    api_client: Any,
    make_user: Callable[..., User],
    hook: Channel,
    now: datetime,
) -> None:
    """Read-only list with filters; a bad filter value is a 400."""
    row = notification_test_queue(channel=hook, now=now)
    client = as_user(api_client, make_user("vi", VIEWER))
    listing = client.get(
        f"/api/notifications/deliveries?status=pending&channel={hook.pk}"
    )
    assert [item["id"] for item in listing.json()["results"]] == [row.pk]
    assert (
        client.get("/api/notifications/deliveries?status=delivered").json()["results"]
        == []
    )
    assert client.get("/api/notifications/deliveries?status=nope").status_code == 400


def test_resume_activates_a_paused_job(
    api_client: Any,
    make_user: Callable[..., User],
    job: Job,
    frozen_clock: object,
) -> None:
    """An Admin resumes; the streak is reset."""
    JobState.objects.create(job=job, failing_streak=5)
    Job.objects.filter(pk=job.pk).update(is_active=False)
    client = as_user(api_client, make_user("ada", ADMIN))
    answer = client.post(f"/api/notifications/jobs/{job.pk}/resume")
    assert answer.json() == {"id": job.pk, "is_active": True}
    assert JobState.objects.get(pk=job.pk).failing_streak == 0
