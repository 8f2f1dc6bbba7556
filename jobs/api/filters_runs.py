"""Query filters of the run lists (`/api/jobs/{id}/logs` and `/api/logs`).

A bad value answers 400 naming the parameter (django-filter's form errors,
raised by DRF's filter backend), never a 500 and never silently ignored:

- `status`: one of `JobRun.Status`; repeat it for several
  (`?status=failed&status=lost`);
- `after` / `before`: ISO 8601 instants; keep runs whose slot
  (`scheduled_for`) is at or after `after` and strictly before `before`. A
  value without an offset is UTC; a bare date means its midnight UTC;
- `job` (all runs only): a job id.

A parameter given with no value (`?after=`, as the browsable API's filter
form sends) filters nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from jobs.models import JobRun

# Ids are positive bigints; anything larger cannot exist and would overflow
# PostgreSQL's bigint in the query.
MAX_ID = 2**63 - 1
MSG_RANGE = "Enter a date and time from year 1 to 9999."


class InstantField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 instant that the database can store (years 1 to 9999 UTC).

    An offset can push an instant out of range only when converted to UTC
    for the query, so the conversion happens here, as a validation error.
    """

    def to_python(self, value: Any) -> datetime | None:
        """Parse the instant and check that it converts to UTC."""
        moment = super().to_python(value)
        if moment is not None:
            try:
                moment.astimezone(UTC)
            except OverflowError:
                raise forms.ValidationError(MSG_RANGE, code="range") from None
        return moment


class InstantFilter(django_filters.IsoDateTimeFilter):
    """Filter on an ISO 8601 instant within the database's range."""

    field_class = InstantField


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """Filter on an object id: a whole number from 1 to the largest bigint."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Bound the id so that a huge number is a 400, not a database error."""
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class JobRunFilter(django_filters.FilterSet):
    """Filters of one job's runs: status and a range of slots."""

    status = django_filters.MultipleChoiceFilter(
        choices=JobRun.Status.choices,
        distinct=False,
        help_text="Keep runs with this status; repeat for several "
        "(?status=failed&status=lost).",
    )
    after = InstantFilter(
        field_name="scheduled_for",
        lookup_expr="gte",
        help_text="Keep runs scheduled for this instant or later (ISO 8601; "
        "UTC when it has no offset).",
    )
    before = InstantFilter(
        field_name="scheduled_for",
        lookup_expr="lt",
        help_text="Keep runs scheduled for before this instant (ISO 8601; "
        "UTC when it has no offset).",
    )

    class Meta:
        model = JobRun
        fields = ("status", "after", "before")


class RunFilter(JobRunFilter):
    """Filters of all visible runs: those of one run list, plus the job."""

    job = IdFilter(field_name="job_id", help_text="Keep the runs of this job (id).")

    class Meta:
        model = JobRun
        fields = ("job", "status", "after", "before")
