"""The run history and worker admin: read-only, deletable by superusers only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import Model, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jobportal import clock
from jobportal.admin import InstantColumnsMixin, RecordAdmin
from jobportal.times import instant_html
from jobs import permissions as perms
from jobs.admin.access import MSG_REFUSED, RunAccessMixin, actor_ip, names_of
from jobs.admin.display import format_duration, status_badge
from jobs.admin.live import RunLiveMixin
from jobs.errors import JobsError
from jobs.models import JobRun, Worker
from jobs.services.artifacts import artifact_download_name, artifact_open
from jobs.services.runs import run_mark_failed, run_request_cancel

MSG_NO_ARTIFACTS = "None."
INSTANT_FIELDS = {
    "scheduled_for": "scheduled_for_shown",
    "queued_at": "queued_at_shown",
    "not_before": "not_before_shown",
    "started_at": "started_at_shown",
    "finished_at": "finished_at_shown",
}
MSG_RUN_TITLE = "Run #{pk} of {job}"
MSG_RUN_TITLE_ATTEMPT = "Run #{pk} of {job} (attempt {attempt})"


def run_title(run: JobRun) -> str:
    """Return the run page's title, naming the run by its id."""
    if run.attempt == 1:
        return MSG_RUN_TITLE.format(pk=run.pk, job=run.job.name)
    return MSG_RUN_TITLE_ATTEMPT.format(
        pk=run.pk, job=run.job.name, attempt=run.attempt
    )


class ReadOnlyAdmin(RecordAdmin):
    """History: viewable, never added or changed; superusers may delete."""

    def has_delete_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Allow superusers only."""
        return request.user.is_active and request.user.is_superuser


@admin.register(JobRun)
class JobRunAdmin(RunAccessMixin, RunLiveMixin, InstantColumnsMixin, RecordAdmin):
    """Run history: what ran, when, for how long, with what output.

    The ledger stays whole: nobody deletes runs here, not even a superuser
    (no delete page, no "Delete selected" action); retention is the way.
    """

    # Chosen to fit a 1400 px window with the sidebar open: the attempt
    # joins the status, the person the trigger, and start/end are on the
    # run's page (the duration says the rest).
    # "scheduled_for" becomes a column naming its zone (`instant_columns`).
    list_display = (
        "job_link",
        "scheduled_for",
        "status_badge",
        "trigger_by",
        "duration",
        "exit_status",
        "worker_name",
    )
    instant_columns: ClassVar[dict[str, Any]] = {
        "scheduled_for": ("scheduled", lambda run: run.job.timezone)
    }
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
    readonly_fields = (
        "status_badge",
        "duration",
        "output_text",
        "upstream_runs",
        "artifact_links",
        *INSTANT_FIELDS.values(),
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "job",
                    "status_badge",
                    "trigger",
                    "scheduled_for_shown",
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
                    "queued_at_shown",
                    "not_before_shown",
                    "started_at_shown",
                    "finished_at_shown",
                    "duration",
                    "exit_code",
                    "worker",
                )
            },
        ),
        ("Output", {"fields": ("output_text", "output_dropped_bytes")}),
        ("Artifacts", {"fields": ("artifact_links",)}),
    )

    @admin.display(description="Files the run left")
    def artifact_links(self, run: JobRun) -> SafeString | str:
        """List the run's artifacts with download links, size and SHA-256."""
        rows = [
            (
                reverse("admin:jobs_jobrun_artifact", args=[run.pk, artifact.pk]),
                artifact.name,
                artifact.size,
                artifact.sha256,
            )
            for artifact in run.artifacts.all()
        ]
        if not rows:
            return MSG_NO_ARTIFACTS
        items = format_html_join(
            "",
            '<li><a href="{}">{}</a> ({} bytes, sha256 <code>{}</code>)</li>',
            rows,
        )
        return format_html("<ul>{}</ul>", items)

    def get_urls(self) -> list[URLPattern]:
        """Add the artifact download view."""
        download = self.admin_site.admin_view(self.artifact_view)
        return [
            path(
                "<path:object_id>/artifacts/<int:artifact_id>/",
                download,
                name="jobs_jobrun_artifact",
            ),
            *super().get_urls(),
        ]

    def artifact_view(
        self, request: HttpRequest, object_id: str, artifact_id: int
    ) -> FileResponse:
        """Send one artifact of a run the user may see (else 404)."""
        run = self.get_object(request, object_id)
        if run is None or not self.has_view_permission(request, run):
            raise Http404
        artifact = get_object_or_404(run.artifacts, pk=artifact_id)
        return FileResponse(
            artifact_open(artifact),
            as_attachment=True,
            filename=artifact_download_name(artifact),
        )

    class Media:
        css: ClassVar[dict[str, tuple[str, ...]]] = {"all": ("jobs/admin.css",)}
        js = ("jobs/live_runs.js",)

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
                service(
                    run=run, requested_by=request.user, now=now, ip=actor_ip(request)
                )
            except JobsError as exc:
                self.message_user(request, f"{run}: {exc}", messages.WARNING)
            else:
                changed += 1
        if changed:
            self.message_user(request, f"{done}: {changed} run(s).", messages.SUCCESS)

    def get_list_display_links(
        self, request: HttpRequest, list_display: Sequence[Any]
    ) -> tuple[Any, ...]:
        """Link the time column (the job column links to the job)."""
        return (list_display[1],)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Title the page by the run's id, as "Run now" and links name it."""
        run = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if run is not None:
            context["title"] = run_title(run)
            context["jobs_live_config"] = self.live_config(run)
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="job", ordering="job__name")
    def job_link(self, run: JobRun) -> SafeString:
        """Link to the run's job; a long name is cut, whole on hover."""
        url = reverse("admin:jobs_job_change", args=[run.job_id])
        return format_html(
            '<a href="{}" class="jobs-cut" title="{}">{}</a>',
            url,
            run.job.name,
            run.job.name,
        )

    @admin.display(description="trigger", ordering="trigger")
    def trigger_by(self, run: JobRun) -> SafeString:
        """Show how the run started and who asked: "Manual · alice" (cut)."""
        text = run.get_trigger_display()
        if run.triggered_by is not None:
            text = f"{text} · {run.triggered_by.get_username()}"
        return format_html(
            '<span class="jobs-cut jobs-cut-short" title="{}">{}</span>', text, text
        )

    @admin.display(description="exit", ordering="exit_code")
    def exit_status(self, run: JobRun) -> str:
        """Show the exit code, "-" before there is one."""
        return "-" if run.exit_code is None else str(run.exit_code)

    @admin.display(description="worker", ordering="worker__name")
    def worker_name(self, run: JobRun) -> SafeString | str:
        """Show the worker's name, cut when long."""
        if run.worker is None:
            return "-"
        name = run.worker.name
        return format_html(
            '<span class="jobs-cut jobs-cut-short" title="{}">{}</span>', name, name
        )

    @admin.display(description="scheduled for")
    def scheduled_for_shown(self, run: JobRun) -> SafeString | str:
        """Show the slot in the display zone, UTC on hover."""
        return instant_html(run.scheduled_for, job_zone=run.job.timezone)

    @admin.display(description="queued at")
    def queued_at_shown(self, run: JobRun) -> SafeString | str:
        """Show when the run was queued."""
        return instant_html(run.queued_at, job_zone=run.job.timezone)

    @admin.display(description="not before")
    def not_before_shown(self, run: JobRun) -> SafeString | str:
        """Show the earliest start."""
        return instant_html(run.not_before, job_zone=run.job.timezone)

    @admin.display(description="started at")
    def started_at_shown(self, run: JobRun) -> SafeString | str:
        """Show the start."""
        return instant_html(run.started_at, job_zone=run.job.timezone)

    @admin.display(description="finished at")
    def finished_at_shown(self, run: JobRun) -> SafeString | str:
        """Show the end."""
        return instant_html(run.finished_at, job_zone=run.job.timezone)

    @admin.display(description="status", ordering="status")
    def status_badge(self, run: JobRun) -> SafeString:
        """Show the status as a colored badge, with the attempt after the first."""
        badge = status_badge(run.status, run.get_status_display())
        if run.attempt == 1:
            return badge
        return format_html("{} <small>attempt {}</small>", badge, run.attempt)

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
        "started",
        "last_heartbeat",
        "stopped",
    )
    search_fields = ("name", "host")

    @admin.display(description="started", ordering="started_at")
    def started(self, worker: Worker) -> SafeString | str:
        """Show the start in the display zone, UTC on hover."""
        return instant_html(worker.started_at)

    @admin.display(description="last heartbeat", ordering="last_heartbeat_at")
    def last_heartbeat(self, worker: Worker) -> SafeString | str:
        """Show the last heartbeat in the display zone, UTC on hover."""
        return instant_html(worker.last_heartbeat_at)

    @admin.display(description="stopped", ordering="stopped_at")
    def stopped(self, worker: Worker) -> SafeString | str:
        """Show the stop in the display zone, UTC on hover."""
        return instant_html(worker.stopped_at)
