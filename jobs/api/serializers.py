"""Serializers of the jobs API: they validate and shape data, nothing more.

`JobDocumentSerializer` reads and writes a job document (see
`jobs.documents`). Field checks come from the model fields' own validators
(ModelSerializer copies them) and schedule documents go through
`jobs.services.jobs.schedules_validate`, so the admin, the API and
`importjobs` refuse the same input with the same messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.settings import api_settings

from jobs import documents
from jobs.models import Job, Secret, default_timezone
from jobs.services.jobs import schedules_validate

MSG_UNKNOWN_FIELDS = "Unknown field(s): {unknown}. Known fields: {known}."
MSG_NOT_IN_SECRETS = "No secret is named {value!r}; create it first (admin: Secrets)."


def _renamed(fields: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Return `extra_kwargs` that read each document key from its model field."""
    return {key: {"source": field} for key, field in fields.items() if key != field}


class StrictModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that refuses keys it does not know, naming them.

    DRF ignores unknown keys by default, which would let a typo such as
    "max_atempts" silently fall back to the default.
    """

    def to_internal_value(self, data: Any) -> Any:
        """Refuse unknown keys, then validate as usual."""
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                message = MSG_UNKNOWN_FIELDS.format(
                    unknown=", ".join(unknown), known=", ".join(self.fields)
                )
                raise serializers.ValidationError(
                    {api_settings.NON_FIELD_ERRORS_KEY: [message]}
                )
        return super().to_internal_value(data)


class RetrySerializer(StrictModelSerializer):
    """The "retry" group of a job document."""

    class Meta:
        model = Job
        fields = tuple(documents.RETRY_FIELDS)
        extra_kwargs = _renamed(documents.RETRY_FIELDS)


class ConcurrencySerializer(StrictModelSerializer):
    """The "concurrency" group of a job document."""

    class Meta:
        model = Job
        fields = tuple(documents.CONCURRENCY_FIELDS)
        extra_kwargs = _renamed(documents.CONCURRENCY_FIELDS)


class MisfireSerializer(StrictModelSerializer):
    """The "misfire" group of a job document."""

    class Meta:
        model = Job
        fields = tuple(documents.MISFIRE_FIELDS)
        extra_kwargs = _renamed(documents.MISFIRE_FIELDS)


class JobDocumentSerializer(StrictModelSerializer):
    """Validate a job document; `validated_data` holds model field values.

    The groups are optional; their fields flatten into `validated_data`
    under the model's names ("retry.max_attempts" -> "retry_max_attempts"),
    and "schedules" holds the normalised schedule documents. Saving is the
    job services' business (`jobs.services.jobs.job_save`), never this
    serializer's.
    """

    schedules = serializers.ListField(child=serializers.JSONField())
    # Secrets by name; a value never passes through a document.
    secrets = serializers.SlugRelatedField(
        many=True,
        slug_field="name",
        queryset=Secret.objects.all(),
        required=False,
        error_messages={"does_not_exist": MSG_NOT_IN_SECRETS},
    )
    retry = RetrySerializer(source="*", required=False)
    concurrency = ConcurrencySerializer(source="*", required=False)
    misfire = MisfireSerializer(source="*", required=False)

    class Meta:
        model = Job
        fields = (
            *documents.FLAT_FIELDS,
            documents.SECRETS_KEY,
            "schedules",
            *documents.GROUPS,
        )
        extra_kwargs = _renamed(documents.FLAT_FIELDS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Validate the schedules in the job's timezone and normalise them."""
        if "schedules" in attrs:
            try:
                attrs["schedules"] = schedules_validate(
                    attrs["schedules"], timezone=self._timezone(attrs)
                )
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.message_dict) from None
        return attrs

    def to_representation(self, instance: Job) -> dict[str, Any]:
        """Return the job as a document (one mapping: `job_to_document`)."""
        return documents.job_to_document(instance)

    def _timezone(self, attrs: Mapping[str, Any]) -> str:
        # A full document that leaves the zone out means the default zone; a
        # partial update keeps the job's current zone.
        if "timezone" in attrs:
            return str(attrs["timezone"])
        if self.partial and isinstance(self.instance, Job):
            return self.instance.timezone
        return default_timezone()
