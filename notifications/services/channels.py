"""Writes to channels: encrypted secrets, validation, audit, the default one.

A channel's secret settings (webhook URL and secret, Slack and Teams URLs,
SMTP password) are stored as one Fernet token of a JSON object, encrypted
like job secrets (`jobs.crypto`, the first key of
JOB_PORTAL_ENCRYPTION_KEY), and never shown again: the admin and the API
accept them write-only and show only which keys are set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.actors import Actor
from accounts.services.audit import audit_record
from jobs import conf, crypto
from jobs.services.secrets import encryption_keys
from notifications import decisions
from notifications.channels.base import Channel as ChannelSender
from notifications.channels.registry import CHANNELS
from notifications.models import Channel, Rule

MSG_MISSING = "Required for a {kind} channel."
MSG_NOT_SECRET = "Not a secret setting of a {kind} channel; choose from: {keys}."  # noqa: S105 - a message
DEFAULT_WEBHOOK_NAME = "Default webhook"
DEFAULT_TRIGGERS = [
    decisions.FAILURE,
    decisions.TIMEOUT,
    decisions.LOST,
    decisions.BLOCKED,
    decisions.RECOVERED,
]
# What the audit log says about a secret: that it was set, never what.
SECRET_SET = "set"  # noqa: S105 - a marker, not a value
SEND_TIMEOUT_SECONDS = 10.0


def channel_secrets(channel: Channel) -> dict[str, str]:
    """Return the channel's decrypted secret settings."""
    if not channel.secrets_encrypted:
        return {}
    text = crypto.decrypt(channel.secrets_encrypted, keys=encryption_keys())
    value = json.loads(text)
    return {str(k): str(v) for k, v in value.items()}


def channel_secret_keys(channel: Channel) -> list[str]:
    """Return the names of the secret settings that hold a value."""
    return sorted(channel_secrets(channel)) if channel.secrets_encrypted else []


def channel_sender(
    channel: Channel, *, timeout_seconds: float = SEND_TIMEOUT_SECONDS
) -> ChannelSender:
    """Return the sender of `channel`'s kind, with defaults and secrets."""
    config: dict[str, Any] = dict(channel.config or {})
    secrets = channel_secrets(channel)
    if channel.kind == "email":
        defaults = conf.smtp_defaults()
        secrets.setdefault("password", str(defaults.pop("password")))
        config = {
            **defaults,
            **{k: v for k, v in config.items() if v not in ("", None)},
        }
    return CHANNELS[channel.kind](
        config=config, secrets=secrets, timeout_seconds=timeout_seconds
    )


@transaction.atomic
def channel_save(
    *,
    channel: Channel,
    secrets: Mapping[str, str] | None = None,
    actor: Actor = None,
    now: datetime,
    ip: str | None = None,
) -> Channel:
    """Validate and save `channel`; merge `secrets` into the stored ones.

    A secret given as "" is removed; keys not given are kept. Raise
    `ValidationError` naming the field, and write nothing, when invalid.
    """
    creating = channel.pk is None
    before = (
        None
        if creating
        else Channel.objects.filter(pk=channel.pk).values(*_AUDITED).first()
    )
    kind = CHANNELS.get(channel.kind)
    stored = {} if creating else channel_secrets(channel)
    if kind is not None:
        stored = _merged_secrets(kind, stored, secrets or {})
        _check_required(kind, channel.config or {}, stored)
    channel.full_clean()
    channel.secrets_encrypted = (
        crypto.encrypt(json.dumps(stored), keys=encryption_keys()) if stored else ""
    )
    channel.save()
    changes: dict[str, list[object]] = {
        name: [before[name] if before else None, getattr(channel, name)]
        for name in _AUDITED
        if (before[name] if before else None) != getattr(channel, name)
    }
    for key in sorted(secrets or {}):
        changes[f"secret {key}"] = [
            None,
            SECRET_SET if secrets and secrets[key] else "",
        ]
    audit_record(
        actor=actor,
        action="create" if creating else "update",
        target=channel,
        changes=changes,
        ip=ip,
        now=now,
    )
    return channel


_AUDITED = (
    "name",
    "kind",
    "config",
    "subject_template",
    "body_template",
    "is_active",
    "rate_per_hour",
    "rate_burst",
)


def channel_delete(
    *, channel: Channel, actor: Actor = None, now: datetime, ip: str | None = None
) -> None:
    """Delete `channel` (its rules and outbox rows go with it), audited."""
    with transaction.atomic():
        audit_record(actor=actor, action="delete", target=channel, ip=ip, now=now)
        channel.delete()


def check_channel(channel: Channel, secrets: Mapping[str, str]) -> None:
    """Raise `ValidationError` if `channel` lacks what its kind requires."""
    kind = CHANNELS[channel.kind]
    stored = channel_secrets(channel) if channel.pk else {}
    merged = _merged_secrets(kind, stored, secrets)
    _check_required(kind, channel.config or {}, merged)


def _merged_secrets(
    kind: type[ChannelSender], stored: dict[str, str], given: Mapping[str, str]
) -> dict[str, str]:
    unknown = sorted(set(given) - set(kind.secret_keys))
    if unknown:
        message = MSG_NOT_SECRET.format(
            kind=kind.kind, keys=", ".join(kind.secret_keys)
        )
        raise ValidationError({f"secrets.{unknown[0]}": [message]})
    merged = {**stored, **{k: v for k, v in given.items() if v}}
    return {k: v for k, v in merged.items() if given.get(k, v) != ""}


def _check_required(
    kind: type[ChannelSender], config: Mapping[str, Any], secrets: Mapping[str, str]
) -> None:
    for key in kind.required:
        if not (secrets.get(key) or config.get(key)):
            where = "secrets" if key in kind.secret_keys else "config"
            raise ValidationError(
                {f"{where}.{key}": [MSG_MISSING.format(kind=kind.kind)]}
            )


def default_webhook_ensure(*, now: datetime) -> Channel | None:
    """Create the JOB_PORTAL_WEBHOOK_URL channel and its global rule once.

    Return the channel, or None when the setting is empty. An existing
    channel of that name is kept as the operator left it.
    """
    url = conf.default_webhook_url()
    if not url:
        return None
    existing = Channel.objects.filter(name=DEFAULT_WEBHOOK_NAME).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        channel = channel_save(
            channel=Channel(name=DEFAULT_WEBHOOK_NAME, kind="webhook"),
            secrets={"url": url},
            now=now,
        )
        rule = Rule(channel=channel, job=None, triggers=list(DEFAULT_TRIGGERS))
        rule.full_clean()
        rule.save()
    return channel
