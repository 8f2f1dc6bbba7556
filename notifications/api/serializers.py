"""Shapes of channels, rules and deliveries in the API; no sending here."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from jobportal.api.serializers import (
    ShapedJSONField,
    StorableCharField,
    StrictModelSerializer,
    storable_json,
)
from notifications import decisions
from notifications.models import Channel, DeliveryAttempt, Notification, Rule
from notifications.services.channels import channel_secret_keys


class ChannelSerializer(StrictModelSerializer):
    """A channel; `secrets` is write-only, `secrets_set` names what is stored."""

    config = ShapedJSONField(
        required=False, schema={"type": "object"}, validators=[storable_json]
    )
    secrets = serializers.DictField(
        child=StorableCharField(allow_blank=True, max_length=2000),
        write_only=True,
        required=False,
        help_text='Secret settings ("url", "secret", "password"); "" removes one.',
    )
    secrets_set = serializers.SerializerMethodField()

    class Meta:
        model = Channel
        fields = (
            "id",
            "name",
            "kind",
            "is_active",
            "config",
            "secrets",
            "secrets_set",
            "subject_template",
            "body_template",
            "rate_per_hour",
            "rate_burst",
            "last_error",
            "last_error_at",
        )
        read_only_fields = ("last_error", "last_error_at")

    def get_secrets_set(self, obj: Channel) -> list[str]:
        """Return the names of the stored secret settings."""
        return channel_secret_keys(obj)

    def validate_config(self, value: Any) -> Any:
        """Refuse anything but a JSON object."""
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return value


class RuleSerializer(StrictModelSerializer):
    """A rule: channel, job (null: every job), events and options."""

    triggers = ShapedJSONField(
        schema={
            "type": "array",
            "items": {"type": "string", "enum": list(decisions.TRIGGERS)},
        },
        help_text="Events: " + ", ".join(decisions.TRIGGERS),
    )

    class Meta:
        model = Rule
        fields = (
            "id",
            "channel",
            "job",
            "triggers",
            "failing_n",
            "only_on_change",
            "is_active",
        )


class AttemptSerializer(serializers.ModelSerializer):
    """One delivery attempt."""

    class Meta:
        model = DeliveryAttempt
        fields = ("at", "outcome", "response_code", "error", "duration_ms")


class DeliverySerializer(serializers.ModelSerializer):
    """One outbox row and its attempts."""

    attempts_made = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Notification
        fields = (
            "id",
            "channel",
            "job",
            "run",
            "event",
            "idempotency_key",
            "status",
            "attempts",
            "created_at",
            "next_attempt_at",
            "delivered_at",
            "last_error",
            "subject",
            "body",
            "attempts_made",
        )
        read_only_fields = fields
