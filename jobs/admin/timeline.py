"""The job's slot timeline page, and "run this slot now" from it.

`/admin/jobs/job/<id>/timeline/?from=&to=` lists every slot of the range
(default: the last 2 days and the next one) with its outcome, in the job's
zone (where its schedules are defined), in the viewer's own zone when they
chose one that differs (`jobportal.times`), and in UTC
(`jobs.selectors_timeline`). A slot that may run again has
a button posting to `.../timeline/run/`, which goes through
`jobs.services.slots.job_slot_run` as the API does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from jobportal import clock
from jobportal.times import viewer_zone
from jobs import permissions as perms
from jobs.admin.access import actor_ip
from jobs.admin.bases import ModelAdminMixin
from jobs.admin.display import format_duration
from jobs.models import Job
from jobs.reasons import LABELS
from jobs.selectors_timeline import MAX_RANGE, job_timeline
from jobs.services.slots import SlotError, job_slot_run

DEFAULT_BACK = timedelta(days=2)
DEFAULT_AHEAD = timedelta(days=1)
MSG_BAD_RANGE = "Give 'from' and 'to' as date and time with an offset, 'from' first."
MSG_SLOT_QUEUED = "Slot {slot} of {job} queued again as run {run}."


def timeline_range(
    raw_from: str | None, raw_to: str | None, *, now: datetime
) -> tuple[datetime, datetime] | None:
    """Return the range asked for (defaults around `now`), or None if bad."""
    since = _instant(raw_from) if raw_from else now - DEFAULT_BACK
    until = _instant(raw_to) if raw_to else now + DEFAULT_AHEAD
    if since is None or until is None or until <= since or until - since > MAX_RANGE:
        return None
    return since, until


def _other_viewer_zone(job: Job) -> str | None:
    """Return the viewer's chosen zone if it is not the job's, else None."""
    chosen = viewer_zone()
    if chosen is None or chosen.key == job.timezone:
        return None
    return chosen.key


def _instant(raw: str) -> datetime | None:
    try:
        value = parse_datetime(raw.strip().replace(" ", "+", 1) if "T" in raw else raw)
    except ValueError:
        return None
    if value is None or value.tzinfo is None:
        return None
    return value


class JobTimelineMixin(ModelAdminMixin):
    """The timeline page and its "run this slot now" action."""

    def get_urls(self) -> list[URLPattern]:
        """Add the timeline pages."""
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/timeline/",
                wrap(self.timeline_view),
                name="jobs_job_timeline",
            ),
            path(
                "<path:object_id>/timeline/run/",
                wrap(self.timeline_run_view),
                name="jobs_job_timeline_run",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="slot timeline")
    def timeline_link(self, job: Job) -> SafeString:
        """Link the job page to its timeline."""
        if job.pk is None:
            return format_html("{}", "-")
        return format_html(
            '<a href="{}">Every slot of the last days and what became of it</a>',
            reverse("admin:jobs_job_timeline", args=[job.pk]),
        )

    def _visible_job(self, request: HttpRequest, object_id: str) -> Job:
        job = self.get_object(request, unquote(object_id))
        if job is None or not perms.can_view_job(request.user, job):
            raise Http404
        return job

    def timeline_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """List the range's slots with their outcomes."""
        job = self._visible_job(request, object_id)
        now = clock.now()
        chosen = timeline_range(request.GET.get("from"), request.GET.get("to"), now=now)
        error = None
        if chosen is None:
            error = MSG_BAD_RANGE
            chosen = (now - DEFAULT_BACK, now + DEFAULT_AHEAD)
        since, until = chosen
        result = job_timeline(job=job, since=since, until=until, now=now)
        context = {
            **self.admin_site.each_context(request),
            "opts": Job._meta,
            "original": job,
            "title": f"Slot timeline of {job}",
            "timeline": result,
            "rows": [_row(entry, job) for entry in reversed(result.entries)],
            "range_error": error,
            "since": since,
            "until": until,
            "can_run": perms.can_run_job(request.user, job),
            "now": now,
            "viewer_zone": _other_viewer_zone(job),
        }
        return TemplateResponse(request, "admin/jobs/job/timeline.html", context)

    def timeline_run_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Queue one slot again (POST "slot"), then back to the timeline."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self._visible_job(request, object_id)
        if not perms.can_run_job(request.user, job):
            raise PermissionDenied
        back = reverse("admin:jobs_job_timeline", args=[job.pk])
        query = {k: request.POST[k] for k in ("from", "to") if request.POST.get(k)}
        if query:
            back += "?" + urlencode(query)
        slot = _instant(request.POST.get("slot", ""))
        try:
            if slot is None:
                raise SlotError(MSG_BAD_RANGE)
            run = job_slot_run(
                job=job,
                slot=slot,
                requested_by=request.user,
                now=clock.now(),
                ip=actor_ip(request),
            )
        except SlotError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(back)
        link = format_html(
            '<a href="{}">#{}</a>',
            reverse("admin:jobs_jobrun_change", args=[run.pk]),
            run.pk,
        )
        self.message_user(
            request,
            format_html(MSG_SLOT_QUEUED, slot=slot.isoformat(), job=job.name, run=link),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(back)


def _row(entry: Any, job: Job) -> dict[str, Any]:
    latest = entry.latest
    return {
        "entry": entry,
        "reason_label": LABELS.get(entry.reason_code, ""),
        "lateness": format_duration(entry.lateness_seconds),
        "duration": format_duration(entry.duration_seconds),
        "run_url": (
            reverse("admin:jobs_jobrun_change", args=[latest.run_id])
            if latest
            else None
        ),
        "attempts": len(entry.runs),
    }
