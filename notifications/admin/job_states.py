"""Per-job notification settings: mute, circuit breaker, and "Resume"."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from jobportal import clock
from jobs.permissions import jobs_visible_to
from notifications import permissions
from notifications.admin.client import client_ip
from notifications.models import JobState
from notifications.services.circuit import job_circuit_resume
from notifications.services.rules import job_notify_settings_save

MSG_RESUMED = "Resumed {count} job(s)."


@admin.register(JobState)
class JobStateAdmin(admin.ModelAdmin):
    """Per-job mute and circuit breaker; "Resume" for paused jobs."""

    list_display = (
        "job",
        "failing_streak",
        "muted_until",
        "circuit_breaker_after",
        "circuit_opened_at",
    )
    list_select_related = ("job",)
    fields = (
        "job",
        "failing_streak",
        "muted_until",
        "circuit_breaker_after",
        "circuit_opened_at",
    )
    readonly_fields = ("job", "failing_streak", "circuit_opened_at")
    actions = ("resume",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobState]:
        """States of the jobs the user may see."""
        return (
            super().get_queryset(request).filter(job__in=jobs_visible_to(request.user))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        """States are made by the consumer."""
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Muting takes the right to change the job."""
        if obj is None:
            return permissions.can_edit_some_rule(request.user)
        assert isinstance(obj, JobState)  # noqa: S101 - the admin's own model
        return permissions.can_mute_job(request.user, obj.job)

    def save_model(
        self, request: HttpRequest, obj: JobState, form: Any, change: bool
    ) -> None:
        """Save through the service (audited)."""
        job_notify_settings_save(
            job=obj.job,
            muted_until=obj.muted_until,
            circuit_breaker_after=obj.circuit_breaker_after,
            actor=request.user,
            now=clock.now(),
            ip=client_ip(request),
        )

    @admin.action(description="Resume (close the circuit breaker)")
    def resume(self, request: HttpRequest, queryset: QuerySet[JobState]) -> None:
        """Activate each paused job the user may activate and reset its streak."""
        count = 0
        for state in queryset.select_related("job"):
            if permissions.can_resume_job(request.user, state.job):
                job_circuit_resume(
                    job=state.job,
                    actor=request.user,
                    now=clock.now(),
                    ip=client_ip(request),
                )
                count += 1
        self.message_user(request, MSG_RESUMED.format(count=count), messages.SUCCESS)
