"""The blackout calendars API: `/api/blackouts`, list, read, create, change, delete.

Everyone signed in with a role may read calendars (`can_view_blackouts`);
creating, changing and deleting take `can_manage_blackouts` (the Admin
role), the same rule as the admin's. Writes go through
`jobs.services.blackouts`, which validates the windows and audits the
change. A calendar's windows are given and replaced as a whole list.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.client import request_ip
from jobportal import clock
from jobportal.api.ids import ObjectByIdMixin
from jobportal.api.responses import LIST_ERRORS, READ_ERRORS, WRITE_ERRORS
from jobportal.api.serializers import (
    StorableCharField,
    StrictModelSerializer,
    storable_json,
)
from jobs import blackout
from jobs.api.access import require
from jobs.models import BlackoutCalendar, BlackoutWindow
from jobs.permissions import can_manage_blackouts, can_view_blackouts
from jobs.services.blackouts import blackout_calendar_delete, blackout_calendar_save

ACTION_VIEW = "see blackout calendars"
ACTION_MANAGE = "manage blackout calendars"
MSG_WEEKDAY = "Weekday must be one of: {choices}."


@extend_schema_field({"type": "string", "enum": list(blackout.WEEKDAYS)})
class WeekdayField(serializers.Field):
    """A weekday by its three-letter name ("mon" ... "sun"), stored as 0..6."""

    def to_representation(self, value: Any) -> str:
        """Return the day's name."""
        return blackout.WEEKDAYS[int(value)]

    def to_internal_value(self, data: Any) -> int:
        """Return the day's number, or refuse naming the choices."""
        if isinstance(data, str) and data.strip().lower() in blackout.WEEKDAYS:
            return blackout.WEEKDAYS.index(data.strip().lower())
        raise serializers.ValidationError(
            MSG_WEEKDAY.format(choices=", ".join(blackout.WEEKDAYS))
        )


class WindowSerializer(StrictModelSerializer):
    """One window: the fields its kind needs (the others null)."""

    weekday = WeekdayField(required=False, allow_null=True)

    class Meta:
        model = BlackoutWindow
        fields = BlackoutWindow.FIELDS

    def validate_label(self, value: str) -> str:
        """Refuse text that cannot be stored."""
        return str(storable_json(value))


class CalendarSerializer(StrictModelSerializer):
    """A calendar with its windows; "global" applies it to every job."""

    name = StorableCharField(max_length=100)
    description = StorableCharField(required=False, allow_blank=True)
    timezone = StorableCharField(max_length=64)
    windows = WindowSerializer(many=True)
    jobs = serializers.SerializerMethodField(
        help_text="The jobs that name the calendar (a global one applies to all)."
    )

    class Meta:
        model = BlackoutCalendar
        fields = ("id", "name", "description", "timezone", "global", "windows", "jobs")
        read_only_fields = ("id",)

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_jobs(self, calendar: BlackoutCalendar) -> list[str]:
        """Return the names of the jobs that name the calendar."""
        return sorted(job.name for job in calendar.jobs.all())

    def build_field(self, field_name: str, *args: Any) -> Any:
        """Map "global" (a keyword, so no class attribute) to `is_global`."""
        if field_name == "global":
            return serializers.BooleanField, {"source": "is_global", "required": False}
        return super().build_field(field_name, *args)


@extend_schema_view(
    list=extend_schema(
        summary="List blackout calendars",
        responses={200: CalendarSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Show a blackout calendar",
        responses={200: CalendarSerializer, **READ_ERRORS},
    ),
    create=extend_schema(
        summary="Create a blackout calendar (Admin role)",
        responses={201: CalendarSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Replace a blackout calendar (Admin role)",
        responses={200: CalendarSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change a blackout calendar (Admin role)",
        responses={200: CalendarSerializer, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete a blackout calendar (Admin role)",
        responses={204: None, **READ_ERRORS},
    ),
)
class BlackoutCalendarViewSet(ObjectByIdMixin, viewsets.ModelViewSet):
    """Blackout calendars and their windows."""

    permission_classes = (IsAuthenticated,)
    serializer_class = CalendarSerializer
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[BlackoutCalendar]:
        """Return every calendar with its windows and jobs, by name."""
        return BlackoutCalendar.objects.prefetch_related("windows", "jobs").order_by(
            "name"
        )

    def check_permissions(self, request: Request) -> None:
        """Refuse writes to all but those who manage calendars."""
        super().check_permissions(request)
        require(can_view_blackouts(request.user), ACTION_VIEW)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            require(can_manage_blackouts(request.user), ACTION_MANAGE)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create a calendar with its windows."""
        calendar = self._save(BlackoutCalendar(), request, partial=False)
        return Response(self._output(calendar), status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Replace (PUT) or change (PATCH) a calendar."""
        calendar = self._save(
            self.get_object(), request, partial=kwargs.get("partial", False)
        )
        return Response(self._output(calendar))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete a calendar; the jobs that named it lose it (audited)."""
        blackout_calendar_delete(
            calendar=self.get_object(),
            now=clock.now(),
            actor=request.user,
            ip=request_ip(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _save(
        self, calendar: BlackoutCalendar, request: Request, *, partial: bool
    ) -> BlackoutCalendar:
        """Validate the input and save it through the service."""
        form = CalendarSerializer(calendar, data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        windows_data = data.pop("windows", None)
        for name, value in data.items():
            setattr(calendar, name, value)
        windows = None
        if windows_data is not None:
            windows = [BlackoutWindow(**window) for window in windows_data]
        try:
            return blackout_calendar_save(
                calendar=calendar,
                windows=windows,
                now=clock.now(),
                actor=request.user,
                ip=request_ip(request),
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None

    def _output(self, calendar: BlackoutCalendar) -> dict[str, Any]:
        fresh = self.get_queryset().get(pk=calendar.pk)
        return dict(CalendarSerializer(fresh).data)
