"""Serializers of the jobs API: they validate and shape data, nothing more.

`JobDocumentSerializer` reads and writes a job document (see
`jobs.documents`); it states for DRF the keys and rules of
`jobs.document_schema`, which `importjobs` uses, and
`jobs/tests/test_document_schema.py` holds the two to the same answers.
Field checks come from the model fields' own validators
(ModelSerializer copies them) and schedule documents go through
`jobs.services.jobs.schedules_validate`, so the admin, the API and
`importjobs` refuse the same input with the same messages. `JobSerializer`
is a job as the API shows it: the document plus read-only facts (id, owner,
next run, last status).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobportal.api.serializers import (
    ShapedJSONField,
    StorableCharField,
    StorableSlugRelatedField,
    StrictModelSerializer,
    StrictSerializer,
    storable_json,
)
from jobs import documents, priorities
from jobs.document_schema import (
    DOCUMENT_KEYS,
    MSG_NOT_IN_BLACKOUTS,
    MSG_NOT_IN_SECRETS,
)
from jobs.models import BlackoutCalendar, Job, JobRun, Secret, default_timezone
from jobs.models.dependencies import MAX_WINDOW_HOURS
from jobs.services.jobs import schedules_validate
from jobs.services.parameters import parameter_documents_validate
from jobs.validators import validate_job_secret_names

MSG_NO_USER = "No user is named {value!r}."

# The OpenAPI schemas of the document's JSON values, as their validators
# (`jobs.validators`) check them.
JSON_SCHEMAS: dict[str, dict[str, Any]] = {
    "args": {"type": "array", "items": {"type": "string"}},
    "env": {"type": "object", "additionalProperties": {"type": "string"}},
    "exit_codes": {
        "type": "array",
        "items": {"type": "integer", "minimum": 1, "maximum": 255},
    },
}


def _renamed(fields: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Return `extra_kwargs` for the document keys: model field, JSON schema."""
    kwargs: dict[str, dict[str, Any]] = {
        key: {"source": field} for key, field in fields.items() if key != field
    }
    for key in fields.keys() & JSON_SCHEMAS.keys():
        kwargs.setdefault(key, {})["schema"] = JSON_SCHEMAS[key]
    return kwargs


class DocumentPartSerializer(StrictModelSerializer):
    """A strict serializer of a job document or a group of it.

    Its text can be stored and passed to a process, and its JSON values
    are documented with their shapes.
    """

    serializer_field_mapping: ClassVar[
        dict[type[models.Field], type[serializers.Field]]
    ] = {
        **StrictModelSerializer.serializer_field_mapping,
        models.CharField: StorableCharField,
        models.TextField: StorableCharField,
        models.JSONField: ShapedJSONField,
    }


class RetrySerializer(DocumentPartSerializer):
    """The "retry" group of a job document."""

    class Meta:
        model = Job
        fields = tuple(documents.RETRY_FIELDS)
        extra_kwargs = _renamed(documents.RETRY_FIELDS)


class ConcurrencySerializer(DocumentPartSerializer):
    """The "concurrency" group of a job document."""

    class Meta:
        model = Job
        fields = tuple(documents.CONCURRENCY_FIELDS)
        extra_kwargs = _renamed(documents.CONCURRENCY_FIELDS)


class MisfireSerializer(DocumentPartSerializer):
    """The "misfire" group of a job document."""

    class Meta:
        model = Job
        fields = tuple(documents.MISFIRE_FIELDS)
        extra_kwargs = _renamed(documents.MISFIRE_FIELDS)


class RetentionSerializer(DocumentPartSerializer):
    """The "retention" group of a job document (null: the portal's setting)."""

    class Meta:
        model = Job
        fields = tuple(documents.RETENTION_FIELDS)
        extra_kwargs = _renamed(documents.RETENTION_FIELDS)


class DependencySerializer(StrictSerializer):
    """One entry of a job document's "dependencies"."""

    job = StorableCharField(
        max_length=200, help_text="Name of the job this one runs after."
    )
    window_hours = serializers.IntegerField(
        min_value=1,
        max_value=MAX_WINDOW_HOURS,
        allow_null=True,
        default=None,
        help_text="Its outcome counts for this many hours; null: any age.",
    )


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer"},
            {"type": "string", "enum": list(priorities.LEVELS)},
        ],
        "description": "Higher runs first; high = 10, normal = 0, low = -10.",
    }
)
class PriorityField(serializers.IntegerField):
    """A job's priority: an integer, or a level name (`jobs.priorities`)."""

    default_error_messages = {  # noqa: RUF012 - DRF's own class attribute
        "invalid": priorities.MSG_PRIORITY
    }

    def to_internal_value(self, data: Any) -> int:
        """Read a level name as its integer, then as DRF reads an integer."""
        value: Any = priorities.priority_from_name(data)
        return int(super().to_internal_value(value))


class JobDocumentSerializer(DocumentPartSerializer):
    """Validate a job document; `validated_data` holds model field values.

    The groups are optional; their fields flatten into `validated_data`
    under the model's names ("retry.max_attempts" -> "retry_max_attempts"),
    and "schedules" holds the normalised schedule documents. Saving is the
    job services' business (`jobs.services.jobs.job_save`), never this
    serializer's.
    """

    schedules = serializers.ListField(child=serializers.JSONField())
    # Secrets by name; a value never passes through a document.
    secrets = StorableSlugRelatedField(
        many=True,
        slug_field="name",
        queryset=Secret.objects.all(),
        required=False,
        error_messages={"does_not_exist": MSG_NOT_IN_SECRETS},
    )
    # The run parameters the job declares, as parameter documents.
    parameters = serializers.JSONField(required=False)
    # Blackout calendars by name (global ones apply without being named).
    blackouts = StorableSlugRelatedField(
        many=True,
        slug_field="name",
        queryset=BlackoutCalendar.objects.all(),
        required=False,
        error_messages={"does_not_exist": MSG_NOT_IN_BLACKOUTS},
    )
    retry = RetrySerializer(source="*", required=False)
    concurrency = ConcurrencySerializer(source="*", required=False)
    misfire = MisfireSerializer(source="*", required=False)
    retention = RetentionSerializer(source="*", required=False)
    dependencies = serializers.ListField(
        child=DependencySerializer(),
        required=False,
        help_text="The jobs this one runs after (see dependency_mode).",
    )

    class Meta:
        model = Job
        fields = DOCUMENT_KEYS
        extra_kwargs = _renamed(documents.FLAT_FIELDS)

    def build_standard_field(
        self, field_name: str, model_field: models.Field
    ) -> tuple[type[serializers.Field], dict[str, Any]]:
        """Read "priority" as an integer or a level name, in the model's range."""
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if field_name == "priority":
            field_class = PriorityField
        return field_class, kwargs

    def validate_args(self, value: Any) -> Any:
        """Refuse arguments that no process could be given."""
        return storable_json(value)

    def validate_env(self, value: Any) -> Any:
        """Refuse environment text that no process could be given."""
        return storable_json(value)

    def validate_schedules(self, value: Any) -> Any:
        """Refuse schedule text that cannot be stored."""
        return storable_json(value)

    def validate_parameters(self, value: Any) -> Any:
        """Check the parameter documents as every other caller does."""
        storable_json(value)
        try:
            return parameter_documents_validate(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                exc.message_dict[documents.PARAMETERS_KEY]
            ) from None

    def validate_secrets(self, value: Any) -> Any:
        """Refuse secrets whose names make other code run (`jobs.run_env`)."""
        try:
            validate_job_secret_names(secret.name for secret in value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value

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

    def model_values(self) -> dict[str, Any]:
        """Return the job field values the validated document sets.

        A full document sets every field, a key it leaves out taking the
        model's default (as `importjobs` does); a partial one (PATCH) sets
        only the keys it has. Schedules and secrets are not fields.
        """
        values = {} if self.partial else Job.field_defaults(documents.MODEL_FIELDS)
        values.update(
            (name, value)
            for name, value in self.validated_data.items()
            if name in documents.MODEL_FIELDS
        )
        return values

    def _timezone(self, attrs: Mapping[str, Any]) -> str:
        # A full document that leaves the zone out means the default zone; a
        # partial update keeps the job's current zone.
        if "timezone" in attrs:
            return str(attrs["timezone"])
        if self.partial and isinstance(self.instance, Job):
            return self.instance.timezone
        return default_timezone()


class UserNameField(StorableSlugRelatedField):
    """A user, given and shown by user name."""

    def __init__(self, **kwargs: Any) -> None:
        """Find users by their user name."""
        super().__init__(slug_field="username", **kwargs)

    def get_queryset(self) -> Any:
        """Return every user (the user model is looked up at call time)."""
        return get_user_model().objects.all()


class JobSerializer(JobDocumentSerializer):
    """A job: its job document (as import/export) plus read-only facts.

    "owner" is a user name; only an Admin may change it (a new job is owned
    by its creator). Read-only keys sent back are ignored, so what GET
    answers can be PUT back.
    """

    owner = UserNameField(
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": MSG_NO_USER},
        help_text="User name of the job's owner; only an Admin may change it.",
    )
    next_run_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the job next runs (UTC); null when inactive or manual.",
    )
    schedule_error = serializers.CharField(
        read_only=True,
        help_text="Why the next run cannot be computed; empty when it can.",
    )
    last_status = serializers.ChoiceField(
        choices=JobRun.Status.choices,
        read_only=True,
        allow_null=True,
        help_text="Status of the latest run; null when the job never ran.",
    )
    last_run_id = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Id of the latest run (GET /api/logs/{id}); null if none.",
    )

    class Meta(JobDocumentSerializer.Meta):
        fields = (
            "id",
            *JobDocumentSerializer.Meta.fields,
            "owner",
            "next_run_at",
            "schedule_error",
            "last_status",
            "last_run_id",
        )

    def to_representation(self, instance: Job) -> dict[str, Any]:
        """Return the job document with the job's id first and facts last.

        `instance` comes from `jobs.selectors.jobs_with_last_run` (the
        latest run's annotations), with its owner and secrets loaded.
        """
        owner = instance.owner
        return {
            "id": instance.pk,
            **super().to_representation(instance),
            "owner": owner.get_username() if owner is not None else None,
            "next_run_at": self.fields["next_run_at"].to_representation(
                instance.next_run_at
            )
            if instance.next_run_at is not None
            else None,
            "schedule_error": instance.schedule_error,
            "last_status": getattr(instance, "last_run_status", None),
            "last_run_id": getattr(instance, "last_run_id", None),
        }
