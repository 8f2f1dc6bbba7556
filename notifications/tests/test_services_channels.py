"""Saving channels: encrypted write-only secrets, templates, the default one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from notifications.models import Channel, Rule
from notifications.services.channels import (
    DEFAULT_WEBHOOK_NAME,
    channel_save,
    channel_secrets,
    default_webhook_ensure,
)

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/T000/secret-path"


def test_secrets_are_stored_encrypted_and_audited_by_name_only(now: datetime) -> None:
    """No column holds the URL in plain text; the audit names it only."""
    channel = channel_save(
        channel=Channel(name="ops", kind="slack"), secrets={"url": URL}, now=now
    )
    row = Channel.objects.filter(pk=channel.pk).values().get()
    assert URL not in str(row)
    assert channel_secrets(channel) == {"url": URL}
    event = AuditEvent.objects.filter(target_type="notifications.channel").get()
    # Secret-looking keys are redacted by the audit log on top.
    assert event.changes["secret url"] == [None, "***"]
    assert URL not in str(event.changes)


def test_secrets_not_given_are_kept_and_empty_ones_removed(now: datetime) -> None:
    """A later save without secrets keeps them; "" removes one."""
    channel = channel_save(
        channel=Channel(name="h", kind="webhook"),
        secrets={"url": URL, "secret": "k"},
        now=now,
    )
    channel.name = "hook"
    channel_save(channel=channel, now=now)
    assert channel_secrets(channel) == {"url": URL, "secret": "k"}
    channel_save(channel=channel, secrets={"secret": ""}, now=now)
    assert channel_secrets(channel) == {"url": URL}


def test_a_channel_without_its_url_is_refused_naming_the_field(now: datetime) -> None:
    """A webhook needs a URL."""
    with pytest.raises(ValidationError) as caught:
        channel_save(channel=Channel(name="h", kind="webhook"), now=now)
    assert caught.value.message_dict == {
        "secrets.url": ["Required for a webhook channel."]
    }


def test_a_template_with_a_syntax_error_is_refused_naming_the_line(
    now: datetime,
) -> None:
    """The body template's broken tag is reported with its line number."""
    channel = Channel(
        name="mail",
        kind="email",
        config={"to": ["ops@example.com"]},
        body_template="Job {{ job }}\nfailed\n{% if exit_code %}code {{ exit_code }}",
    )
    with pytest.raises(ValidationError) as caught:
        channel_save(channel=channel, now=now)
    (message,) = caught.value.message_dict["body_template"]
    assert message.startswith("Line 3: Unclosed tag on line 3: 'if'.")
    assert Channel.objects.count() == 0


def test_a_template_sees_only_the_given_variables(now: datetime) -> None:
    """Loader tags and libraries are not there; unknown names render empty."""
    for source in ('{% include "x.html" %}', "{% load static %}"):
        channel = Channel(name="t", kind="slack", subject_template=source)
        with pytest.raises(ValidationError, match="subject_template"):
            channel_save(channel=channel, secrets={"url": URL}, now=now)


def test_the_webhook_url_setting_becomes_the_default_channel(
    settings: Any, now: datetime
) -> None:
    """JOB_PORTAL_WEBHOOK_URL gives one webhook channel and a global rule."""
    settings.JOB_PORTAL_WEBHOOK_URL = URL
    channel = default_webhook_ensure(now=now)
    assert channel is not None
    assert default_webhook_ensure(now=now) == channel
    assert (channel.name, channel.kind) == (DEFAULT_WEBHOOK_NAME, "webhook")
    assert channel_secrets(channel) == {"url": URL}
    rule = Rule.objects.get(channel=channel)
    assert (rule.job, rule.triggers) == (
        None,
        ["failure", "timeout", "lost", "blocked", "recovered"],
    )


def test_no_webhook_url_setting_means_no_default_channel(
    settings: Any, now: datetime
) -> None:
    """An empty setting creates nothing."""
    settings.JOB_PORTAL_WEBHOOK_URL = ""
    assert default_webhook_ensure(now=now) is None
    assert Channel.objects.count() == 0
