"""List filters of the job admin: by latest run status and by schedule type."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from jobs import schedule as engine
from jobs.models import Job, JobRun
from jobs.selectors import NEVER_RUN, jobs_with_last_status, jobs_with_schedule_type


class LastRunStatusFilter(admin.SimpleListFilter):
    """Filter jobs by the status of their latest run."""

    title = "last run"
    parameter_name = "last_status"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, str]]:
        """Offer every run status and "never run"."""
        return [*JobRun.Status.choices, (NEVER_RUN, "Never run")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        """Keep the jobs whose latest run has the chosen status."""
        if self.value() is None:
            return queryset
        return jobs_with_last_status(queryset, status=str(self.value()))


class ScheduleTypeFilter(admin.SimpleListFilter):
    """Filter jobs by the type of any of their schedules."""

    title = "schedule type"
    parameter_name = "schedule_type"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, str]]:
        """Offer the engine's schedule types."""
        return [(kind, kind.capitalize()) for kind in engine.KINDS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        """Keep the jobs with a schedule of the chosen type."""
        if self.value() is None:
            return queryset
        return jobs_with_schedule_type(queryset, kind=str(self.value()))
