"""Query parameters of the API's lists (django-filter FilterSets).

A value a filter cannot read (`?active=maybe`, `?last_status=nonsense`,
`?ordering=bogus`) answers 400 naming the parameter rather than being
ignored: DRF's `DjangoFilterBackend` raises the FilterSet's form errors.
The strict filters here serve every list (jobs, runs, scripts, versions);
`JobFilter` is the jobs list's.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field

from jobportal.api.serializers import TEXT_PATTERN
from jobs import schedule as engine
from jobs.models import Job, JobRun
from jobs.selectors import NEVER_RUN, jobs_with_last_status, jobs_with_schedule_type

MSG_BOOLEAN = "Use true or false."
TRUE_WORDS = ("true", "1")
FALSE_WORDS = ("false", "0")


class StrictBooleanField(forms.Field):
    """A boolean query value: true/false (or 1/0); anything else is an error."""

    def to_python(self, value: Any) -> bool | None:
        """Return True, False or None (not given); refuse any other text."""
        if value in (None, ""):
            return None
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise forms.ValidationError(MSG_BOOLEAN, code="invalid")


@extend_schema_field({"type": "string", "pattern": TEXT_PATTERN})
class TextFilter(django_filters.CharFilter):
    """A text filter; NUL characters are refused (400), as documented."""


class StrictBooleanFilter(django_filters.BooleanFilter):
    """A boolean filter that refuses values it cannot read.

    django-filter's own turns "maybe" into "not given" and so ignores it.
    """

    field_class = StrictBooleanField


class StableOrderingFilter(django_filters.OrderingFilter):
    """`?ordering=a,-b`, then by id, so that pages never overlap or skip."""

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        """Order by the requested fields, then by primary key."""
        # "?ordering=name," leaves an empty item, which orders by nothing.
        params = [param for param in value or () if param]
        if not params:
            return qs
        return qs.order_by(*(self.get_ordering_value(param) for param in params), "pk")


class JobFilter(django_filters.FilterSet):
    """Filters and ordering of GET /api/jobs.

    The queryset must come from `jobs.selectors.jobs_with_last_run` (the
    last status filter and ordering read its annotation).
    """

    active = StrictBooleanFilter(
        field_name="is_active", help_text="Only active (true) or inactive jobs."
    )
    schedule_type = django_filters.ChoiceFilter(
        choices=[(kind, kind) for kind in engine.KINDS],
        method="filter_schedule_type",
        help_text="Only jobs with at least one schedule of this type.",
    )
    owner = TextFilter(
        field_name="owner__username", help_text="Only jobs this user (name) owns."
    )
    last_status = django_filters.ChoiceFilter(
        choices=[*((s, s) for s in JobRun.Status.values), (NEVER_RUN, NEVER_RUN)],
        method="filter_last_status",
        help_text=f'Only jobs whose latest run has this status ("{NEVER_RUN}": '
        "jobs that never ran).",
    )
    name = TextFilter(
        field_name="name",
        lookup_expr="icontains",
        help_text="Only jobs whose name contains this text (any case).",
    )
    search = TextFilter(
        field_name="name",
        lookup_expr="icontains",
        help_text="The same as name (for clients that expect ?search=).",
    )
    ordering = StableOrderingFilter(
        fields=(
            ("name", "name"),
            ("next_run_at", "next_run_at"),
            ("last_run_status", "last_status"),
            ("priority", "priority"),
            ("created_at", "created_at"),
            ("updated_at", "updated_at"),
            ("id", "id"),
        ),
        help_text="Comma-separated fields, '-' for descending (default: name).",
    )

    class Meta:
        model = Job
        fields = ()

    def filter_schedule_type(
        self, queryset: QuerySet[Job], name: str, value: str
    ) -> QuerySet[Job]:
        """Keep the jobs with a schedule of type `value`."""
        return jobs_with_schedule_type(queryset, kind=value)

    def filter_last_status(
        self, queryset: QuerySet[Job], name: str, value: str
    ) -> QuerySet[Job]:
        """Keep the jobs whose latest run has status `value`."""
        return jobs_with_last_status(queryset, status=value)
