"""The run history and worker admin: read-only, deletable by superusers only."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jobportal import clock
from jobportal.admin import RecordAdmin
from jobs import permissions as perms
from jobs.admin.access import MSG_REFUSED, RunAccessMixin, names_of
from jobs.admin.display import compact_instant, format_duration, status_badge
from jobs.errors import JobsError
from jobs.models import JobRun, Worker
from jobs.services.runs import run_mark_failed, run_request_cancel


class ReadOnlyAdmin(RecordAdmin):
    """History: viewable, never added or changed; superusers may delete."""

    def has_delete_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Allow superusers only."""
        return request.user.is_active and request.user.is_superuser


@admin.register(JobRun)
class JobRunAdmin(RunAccessMixin, RecordAdmin):
    """Run history: what ran, when, for how long, with what output.

    The ledger stays whole: nobody deletes runs here, not even a superuser
    (no delete page, no "Delete selected" action); retention is the way.
    """

    list_display = (
        "job_link",
        "scheduled",
        "attempt",
        "trigger",
        "status_badge",
        "started",
        "finished",
        "duration",
        "exit_code",
        "worker",
        "triggered_by",
    )
    list_display_links = ("scheduled",)
    list_filter = (
        "status",
        "trigger",
        # Only the jobs of the runs the user may see.
        ("job", admin.RelatedOnlyFieldListFilter),
        ("scheduled_for", admin.DateFieldListFilter),
    )
    list_select_related = ("job", "worker", "triggered_by")
    search_fields = ("job__name",)
    actions = ("cancel_runs", "mark_runs_failed")
    readonly_fields = ("status_badge", "duration", "output_text", "upstream_runs")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "job",
                    "status_badge",
                    "trigger",
                    "scheduled_for",
                    "attempt",
                    "missed_slots",
                    "triggered_by",
                    "parameters",
                    "reason",
                    "upstream_runs",
                )
            },
        ),
        (
            "Execution",
            {
                "fields": (
                    "queued_at",
                    "not_before",
                    "started_at",
                    "finished_at",
                    "duration",
                    "exit_code",
                    "worker",
                )
            },
        ),
        ("Output", {"fields": ("output_text", "output_dropped_bytes")}),
    )

    class Media:
        css: ClassVar[dict[str, tuple[str, ...]]] = {"all": ("jobs/admin.css",)}

    @admin.action(description="Cancel selected runs", permissions=["control"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[JobRun]) -> None:
        """Cancel queued runs now; ask workers to stop running ones."""
        self._apply(request, queryset, run_request_cancel, "Cancel requested")

    @admin.action(
        description="Mark selected running runs failed (dead worker)",
        permissions=["control"],
    )
    def mark_runs_failed(
        self, request: HttpRequest, queryset: QuerySet[JobRun]
    ) -> None:
        """Fail runs stuck on a dead worker without waiting for the heartbeat limit."""
        self._apply(request, queryset, run_mark_failed, "Marked failed")

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[JobRun],
        service: Callable[..., JobRun],
        done: str,
    ) -> None:
        """Call `service` on each run; report successes and refusals."""
        now = clock.now()
        changed = 0
        runs = list(queryset.select_related("worker", "job"))
        refused = [run for run in runs if not perms.can_cancel_run(request.user, run)]
        if refused:
            message = MSG_REFUSED.format(verb="control", names=names_of(refused))
            self.message_user(request, message, messages.WARNING)
        for run in runs:
            if run in refused:
                continue
            try:
                service(run=run, requested_by=request.user, now=now)
            except JobsError as exc:
                self.message_user(request, f"{run}: {exc}", messages.WARNING)
            else:
                changed += 1
        if changed:
            self.message_user(request, f"{done}: {changed} run(s).", messages.SUCCESS)

    @admin.display(description="job", ordering="job__name")
    def job_link(self, run: JobRun) -> SafeString:
        """Link to the run's job."""
        url = reverse("admin:jobs_job_change", args=[run.job_id])
        return format_html('<a href="{}">{}</a>', url, run.job.name)

    @admin.display(description="scheduled for (UTC)", ordering="scheduled_for")
    def scheduled(self, run: JobRun) -> str:
        """Show the slot compactly, in UTC."""
        return compact_instant(run.scheduled_for, since=None)

    @admin.display(description="started", ordering="started_at")
    def started(self, run: JobRun) -> str:
        """Show the start, with its date only when not the slot's date."""
        return compact_instant(run.started_at, since=run.scheduled_for)

    @admin.display(description="finished", ordering="finished_at")
    def finished(self, run: JobRun) -> str:
        """Show the end, with its date only when not the start's date."""
        return compact_instant(run.finished_at, since=run.started_at)

    @admin.display(description="status", ordering="status")
    def status_badge(self, run: JobRun) -> SafeString:
        """Show the status as a colored badge."""
        return status_badge(run.status, run.get_status_display())

    @admin.display(description="duration")
    def duration(self, run: JobRun) -> str:
        """Show how long the run took."""
        return format_duration(run.duration_seconds)

    @admin.display(description="decided by upstream runs")
    def upstream_runs(self, run: JobRun) -> SafeString | str:
        """Link the upstream runs whose outcomes queued or skipped this run."""
        used = run.upstreams.select_related("upstream_run__job").order_by(
            "upstream_run_id"
        )
        links = [
            format_html(
                '<a href="{}">#{} {} ({})</a>',
                reverse("admin:jobs_jobrun_change", args=[u.upstream_run_id]),
                u.upstream_run_id,
                u.upstream_run.job.name,
                u.upstream_run.status,
            )
            for u in used
        ]
        if not links:
            return "-"
        return format_html_join(", ", "{}", ((link,) for link in links))

    @admin.display(description="output")
    def output_text(self, run: JobRun) -> SafeString:
        """Show the captured output verbatim (escaped) in a <pre>."""
        return format_html('<pre class="jobs-output">{}</pre>', run.output)


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    """Worker processes, known by their heartbeats."""

    list_display = (
        "name",
        "host",
        "pid",
        "started_at",
        "last_heartbeat_at",
        "stopped_at",
    )
    search_fields = ("name", "host")
