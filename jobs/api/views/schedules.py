"""`POST /api/schedules/preview`: a schedule document's next fire times.

The body wraps one schedule document (the format of a job document's
"schedules" items, of `preview_schedule` and of the admin):

    {"schedule": {"type": "daily", "time": "02:30"},
     "timezone": "America/New_York", "count": 5,
     "after": "2026-03-07T00:00:00Z"}

"timezone" is the zone of a document without its own (the job's zone;
default JOB_PORTAL_TIMEZONE), "count" is 1 to 50 (default 5) and "after"
an instant with an offset (default now). The answer lists the fire times
the engine computes (`jobs.selectors.schedule_fire_times`, as the admin's
live preview) and the schedule in words; an invalid document is a 400 whose
"schedule" entry maps the engine's field to its message.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobportal import clock
from jobportal.api.responses import FORBIDDEN, NOT_SIGNED_IN, UNSUPPORTED
from jobportal.api.serializers import StorableCharField, StrictSerializer
from jobs import blackout, conf
from jobs import permissions as perms
from jobs import schedule as engine
from jobs.presentation import fire_time_json
from jobs.schedule_text import describe_schedule
from jobs.selectors import blackout_calendars_named, schedule_fire_times
from jobs.validators import validate_timezone

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_COUNT = 50
DEFAULT_COUNT = 5
MSG_UNKNOWN_BLACKOUTS = "No blackout calendar is named: {names}."
MSG_AFTER_OFFSET = (
    "Give the instant with its UTC offset, e.g. 2026-03-08T00:00:00-05:00 or "
    "2026-03-08T05:00:00Z."
)
MSG_AFTER_RANGE = (
    "Cannot list fire times that far out: the calendar ends at year 9999 "
    "(and starts at year 1)."
)


class IsActiveUser(BasePermission):
    """Allow any signed-in, active user (`jobs.permissions`)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        """Return True for an active, authenticated user."""
        return perms.is_active_user(request.user)


class InstantField(serializers.DateTimeField):
    """An ISO 8601 instant with its UTC offset: a naive one is ambiguous."""

    default_error_messages: ClassVar[dict[str, StrOrPromise]] = {
        "naive": MSG_AFTER_OFFSET
    }

    def enforce_timezone(self, value: datetime) -> datetime:
        """Refuse a value without an offset, then convert it as usual."""
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "example": {"type": "daily", "time": "09:00"},
    }
)
class ScheduleDocumentField(serializers.JSONField):
    """A schedule document: a JSON object the engine validates."""


class PreviewInputSerializer(StrictSerializer):
    """What to preview: a schedule document, its default zone, how many, after."""

    schedule = ScheduleDocumentField(
        help_text='A schedule document, e.g. {"type": "daily", "time": "09:00"}.'
    )
    timezone = serializers.CharField(
        required=False,
        validators=[validate_timezone],
        help_text="The zone of a document without its own (the job's zone); "
        "default JOB_PORTAL_TIMEZONE.",
    )
    count = serializers.IntegerField(
        required=False,
        default=DEFAULT_COUNT,
        min_value=1,
        max_value=MAX_COUNT,
        help_text=f"How many fire times, 1 to {MAX_COUNT}.",
    )
    after = InstantField(
        required=False,
        help_text="List fire times strictly after this instant (ISO 8601 with "
        "an offset); default now.",
    )
    blackouts = serializers.ListField(
        child=StorableCharField(),
        required=False,
        default=list,
        help_text="Names of blackout calendars (the job's); global calendars "
        "always apply. Each fire time a window removes names it in "
        '"blackout".',
    )

    def validate_blackouts(self, value: list[str]) -> list[str]:
        """Refuse names no calendar has."""
        _, unknown = blackout_calendars_named(value)
        if unknown:
            raise serializers.ValidationError(
                MSG_UNKNOWN_BLACKOUTS.format(names=", ".join(unknown))
            )
        return value


class FireTimeSerializer(serializers.Serializer):
    """One fire time, as the admin's live preview answers it."""

    at = serializers.DateTimeField(help_text="The instant, in UTC.")
    local = serializers.DateTimeField(help_text="The instant in the schedule's zone.")
    moved_from = serializers.CharField(
        allow_null=True,
        help_text="The local wall time (no offset) a DST gap skipped, when the "
        "fire moved to the first instant after the gap; else null.",
    )
    blackout = serializers.CharField(
        allow_null=True,
        help_text='The blackout window ("calendar: window") that removes this '
        "slot, else null.",
    )
    fold = serializers.IntegerField(
        allow_null=True,
        help_text="For a local wall time that happens twice (the clocks fall "
        "back): 0 for the first of the two instants, 1 for the second; else "
        "null.",
    )
    text = serializers.CharField(help_text="The instant in words, local and UTC.")


class PreviewOutputSerializer(serializers.Serializer):
    """The schedule in words and its next fire times."""

    description = serializers.CharField()
    fire_times = FireTimeSerializer(many=True)


class SchedulePreviewView(APIView):
    """Preview a schedule document's next fire times, or say what is wrong."""

    permission_classes = (IsActiveUser,)

    @extend_schema(
        summary="Preview a schedule's next fire times",
        description="Return the next fire times of one schedule document (as "
        'in a job document\'s "schedules") and the schedule in words. A '
        'time a DST gap skips fires at the gap\'s end ("moved_from" says so). '
        '"timezone" is the zone of a document without its own (the job\'s '
        'zone; default JOB_PORTAL_TIMEZONE); "after" needs a UTC offset.',
        request=PreviewInputSerializer,
        responses={
            200: PreviewOutputSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description='Bad input: {"<field>": ["<message>"]}; an invalid '
                'document gives {"schedule": {"<document field>": ["<message>"]}}.',
            ),
            401: NOT_SIGNED_IN,
            403: FORBIDDEN,
            415: UNSUPPORTED,
        },
        examples=[
            OpenApiExample(
                "Daily across a DST gap",
                value={
                    "schedule": {"type": "daily", "time": "02:30"},
                    "timezone": "America/New_York",
                    "count": 3,
                    "after": "2026-03-07T12:00:00Z",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        """Validate the input, ask the engine, answer fire times and words."""
        form = PreviewInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        zone = data.get("timezone") or conf.default_timezone()
        try:
            fires = schedule_fire_times(
                documents=[data["schedule"]],
                timezone=zone,
                after=data.get("after") or clock.now(),
                count=data["count"],
            )
        except engine.ScheduleError as exc:
            raise serializers.ValidationError({"schedule": _field_error(exc)}) from None
        except OverflowError:
            raise serializers.ValidationError({"after": [MSG_AFTER_RANGE]}) from None
        calendars, _ = blackout_calendars_named(data["blackouts"])
        return Response(
            {
                "description": describe_schedule(data["schedule"], timezone=zone),
                "fire_times": [
                    fire_time_json(fire, blackout.blackout_at(calendars, fire.at))
                    for fire in fires
                ],
            }
        )


def _field_error(exc: engine.ScheduleError) -> list[str] | dict[str, list[str]]:
    """Return the engine's error keyed by the document's field."""
    if exc.field == "schedule":
        # The document itself is wrong (not an object).
        return [exc.message]
    return {exc.field: [exc.message]}
