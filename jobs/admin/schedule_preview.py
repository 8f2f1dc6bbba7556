"""The job's schedule preview page: from a date, how many, the next DST change.

The times come from `jobs.selectors.job_fire_times_preview` (the engine in
`jobs.schedule`); each is shown in the job's zone and UTC, with a DST gap's
move and both instants of a repeated hour marked.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jobportal import clock
from jobs import permissions as perms
from jobs import schedule as engine
from jobs.admin.bases import ModelAdminMixin
from jobs.admin.display import MSG_NO_FIRE_TIMES, zone_or_utc
from jobs.dst import fold_index
from jobs.forms import DEFAULT_PREVIEW_COUNT, FireTimesPreviewForm
from jobs.models import Job
from jobs.presentation import describe_fire, describe_offset_change
from jobs.selectors import FireTimesPreview, job_fire_times_preview

MSG_NO_DST = "{zone} has no DST change in the next two years."
NEXT_DST = "next_dst"


class JobSchedulePreviewMixin(ModelAdminMixin):
    """Add the schedule preview page to the job admin."""

    def get_urls(self) -> list[URLPattern]:
        """Add the preview page."""
        return [
            path(
                "<path:object_id>/schedule-preview/",
                self.admin_site.admin_view(self.schedule_preview_view),
                name="jobs_job_schedule_preview",
            ),
            *super().get_urls(),
        ]

    def schedule_preview_view(
        self, request: HttpRequest, object_id: str
    ) -> HttpResponse:
        """Show the job's fire times from the chosen date (GET form)."""
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404
        if not perms.can_view_job(request.user, job):
            raise PermissionDenied
        form = FireTimesPreviewForm(request.GET or None)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": Job._meta,
            "original": job,
            "title": f"Schedule preview of {job}",
            "form": form,
        }
        if form.is_bound and not form.is_valid():
            return TemplateResponse(
                request, "admin/jobs/job/schedule_preview.html", context
            )
        data = form.cleaned_data if form.is_bound else {}
        try:
            preview = job_fire_times_preview(
                job=job,
                start=data.get("start"),
                count=data.get("count") or DEFAULT_PREVIEW_COUNT,
                now=clock.now(),
                next_dst=NEXT_DST in request.GET,
            )
        except engine.ScheduleError as exc:
            context["error"] = str(exc)
        else:
            context.update(_preview_context(job, preview, NEXT_DST in request.GET))
        return TemplateResponse(
            request, "admin/jobs/job/schedule_preview.html", context
        )


def _preview_context(
    job: Job, preview: FireTimesPreview, asked_dst: bool
) -> dict[str, Any]:
    zone = zone_or_utc(job.timezone)
    context: dict[str, Any] = {"fire_times": fire_times_marked(preview, job)}
    if preview.change is not None and isinstance(zone, ZoneInfo):
        context["dst_note"] = describe_offset_change(preview.change, zone)
    elif asked_dst:
        context["dst_note"] = MSG_NO_DST.format(zone=job.timezone)
    return context


def fire_times_marked(preview: FireTimesPreview, job: Job) -> SafeString:
    """Return the fire times as a list; DST-moved and fold instants marked."""
    if not preview.fire_times:
        return format_html('<p class="jobs-preview-note">{}</p>', MSG_NO_FIRE_TIMES)
    zone = zone_or_utc(job.timezone)
    items = format_html_join(
        "",
        '<li class="{}">{}</li>',
        ((_css_class(fire), describe_fire(fire, zone)) for fire in preview.fire_times),
    )
    return format_html('<ol class="jobs-fire-times">{}</ol>', items)


def _css_class(fire: engine.FireTime) -> str:
    if fire.moved_from is not None:
        return "jobs-moved"
    if fold_index(fire.local) is not None:
        return "jobs-fold"
    return ""
