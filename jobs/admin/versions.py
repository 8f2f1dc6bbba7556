"""The job page's version history: list, diff between any two, restore.

Pages under the job's admin URL: ``versions/`` lists every version with a
form to compare any two, ``versions/<n>/`` shows version n with its diff
(against the version before it, or ``?against=m``) and a "Restore this
version" button (POST with CSRF) for those who may change the job. The
restore goes through `jobs.services.jobs.job_version_restore`, which
stores a new version and an audit event.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from accounts.client import request_ip
from accounts.permissions import can_view_audit_log
from jobportal import clock
from jobportal.times import instant_html
from jobs import permissions as perms
from jobs.admin.bases import ModelAdminMixin
from jobs.admin.templates import template_origin
from jobs.models import Job, JobVersion
from jobs.presentation import (
    MSG_FIRST_VERSION,
    MSG_RESTORED,
    MSG_RESTORED_UNCHANGED,
    author_name,
)
from jobs.services.jobs import job_version_restore
from jobs.services.versions import job_version_diff, snapshot_ordered
from jobs.version_diff import MSG_NO_CHANGES

RECENT_VERSIONS = 5

MSG_RESTORE_FAILED = "Version {old} cannot be restored: {errors}"
MSG_NO_VERSIONS = "No versions yet."


class JobVersionsMixin(ModelAdminMixin):
    """Version history pages and the change page's "History" section."""

    def get_urls(self) -> list[URLPattern]:
        """Add the version pages."""
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/versions/",
                wrap(self.versions_view),
                name="jobs_job_versions",
            ),
            path(
                "<path:object_id>/versions/compare/",
                wrap(self.version_compare_view),
                name="jobs_job_version_compare",
            ),
            path(
                "<path:object_id>/versions/<int:number>/",
                wrap(self.version_view),
                name="jobs_job_version",
            ),
            path(
                "<path:object_id>/versions/<int:number>/restore/",
                wrap(self.version_restore_view),
                name="jobs_job_version_restore",
            ),
            *super().get_urls(),
        ]

    # --- the change page's section ----------------------------------------

    @admin.display(description="versions")
    def version_history(self, job: Job) -> SafeString:
        """List the latest versions, linking to each and to the full history."""
        if job.pk is None:
            return format_html("{}", MSG_NO_VERSIONS)
        # Where the job came from, and what its template changed since.
        origin = template_origin(job)
        versions = list(
            job.versions.select_related("author").order_by("-number")[:RECENT_VERSIONS]
        )
        if not versions:
            return format_html("{}", MSG_NO_VERSIONS)
        rows = format_html_join(
            "",
            '<li><a href="{}">Version {}</a> · {} · {}{}</li>',
            (
                (
                    _version_url(job, v.number),
                    v.number,
                    instant_html(v.created_at, job_zone=job.timezone),
                    author_name(v),
                    f" · {v.note}" if v.note else "",
                )
                for v in versions
            ),
        )
        return format_html(
            '{}<ul class="jobs-versions">{}</ul><p><a href="{}">All versions and '
            "comparisons</a></p>",
            origin,
            rows,
            reverse("admin:jobs_job_versions", args=[job.pk]),
        )

    # --- pages ------------------------------------------------------------

    def _viewable_job(self, request: HttpRequest, object_id: str) -> Job:
        """Return the job if the user may see it; else 404 or 403."""
        job = self.get_object(request, unquote(object_id))
        if job is None:
            raise Http404
        if not perms.can_view_job(request.user, job):
            raise PermissionDenied
        return job

    def _context(self, request: HttpRequest, job: Job, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": Job._meta,
            "original": job,
            "can_restore": perms.can_change_job(request.user, job),
            **extra,
        }

    def versions_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """List every version of the job, newest first, with a compare form."""
        job = self._viewable_job(request, object_id)
        versions = list(job.versions.select_related("author").order_by("-number"))
        context = self._context(
            request,
            job,
            title=f"Versions of {job}",
            versions=[(v, author_name(v)) for v in versions],
            numbers=[v.number for v in versions],
            audit_url=(_audit_url(job) if can_view_audit_log(request.user) else None),
        )
        return TemplateResponse(request, "admin/jobs/job/versions.html", context)

    def version_compare_view(
        self, request: HttpRequest, object_id: str
    ) -> HttpResponse:
        """Send the compare form to the "to" version's page, against "from"."""
        job = self._viewable_job(request, object_id)
        try:
            old, new = int(request.GET["from"]), int(request.GET["to"])
        except (KeyError, ValueError):
            return HttpResponseRedirect(
                reverse("admin:jobs_job_versions", args=[job.pk])
            )
        return HttpResponseRedirect(_version_url(job, new, against=old))

    def version_view(
        self, request: HttpRequest, object_id: str, number: int
    ) -> HttpResponse:
        """Show one version: its snapshot and its diff against another."""
        job = self._viewable_job(request, object_id)
        version = get_object_or_404(JobVersion, job=job, number=number)
        against = _against(request, job, version)
        latest = job.versions.order_by("-number").values_list("number", flat=True)
        is_current = latest.first() == version.number
        if against is None:
            lines: list[str] = []
            note = MSG_FIRST_VERSION
        else:
            lines = [
                str(change) for change in job_version_diff(old=against, new=version)
            ]
            note = "" if lines else MSG_NO_CHANGES
        context = self._context(
            request,
            job,
            title=f"{job}: version {version.number}",
            version=version,
            is_current=is_current,
            author=author_name(version),
            against=against,
            diff_lines=lines,
            diff_note=note,
            numbers=list(
                job.versions.order_by("-number").values_list("number", flat=True)
            ),
            snapshot_text=json.dumps(
                snapshot_ordered(version.snapshot), indent=2, ensure_ascii=False
            ),
        )
        return TemplateResponse(request, "admin/jobs/job/version.html", context)

    def version_restore_view(
        self, request: HttpRequest, object_id: str, number: int
    ) -> HttpResponse:
        """Restore a version (POST from its page) and return to the job."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self._viewable_job(request, object_id)
        version = get_object_or_404(JobVersion, job=job, number=number)
        if not perms.can_restore_job_version(request.user, version):
            raise PermissionDenied
        latest_before = job.versions.order_by("-number").first()
        try:
            job = job_version_restore(
                version=version,
                actor=request.user,
                now=clock.now(),
                ip=request_ip(request),
            )
        except ValidationError as exc:
            errors = "; ".join(exc.messages)
            self.message_user(
                request,
                MSG_RESTORE_FAILED.format(old=version.number, errors=errors),
                messages.ERROR,
            )
            return HttpResponseRedirect(_version_url(job, version.number))
        latest = job.versions.order_by("-number").first()
        if latest is not None and latest != latest_before:
            message = MSG_RESTORED.format(
                old=version.number, job=job, new=latest.number
            )
        else:
            message = MSG_RESTORED_UNCHANGED.format(old=version.number, job=job)
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))


def _version_url(job: Job, number: int, *, against: int | None = None) -> str:
    url = reverse("admin:jobs_job_version", args=[job.pk, number])
    return f"{url}?{urlencode({'against': against})}" if against is not None else url


def _audit_url(job: Job) -> str:
    query = urlencode({"target_type": "jobs.job", "target_id": str(job.pk)})
    return f"{reverse('admin:accounts_auditevent_changelist')}?{query}"


def _against(request: HttpRequest, job: Job, version: JobVersion) -> JobVersion | None:
    """Return the version to compare with: ?against=n, else the one before."""
    raw = request.GET.get("against")
    if raw is not None:
        try:
            return get_object_or_404(JobVersion, job=job, number=int(raw))
        except ValueError:
            raise Http404 from None
    return job.versions.filter(number__lt=version.number).order_by("-number").first()
