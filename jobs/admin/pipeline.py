"""The job page's pipeline: the dependency graph as SVG, and "Run pipeline".

The graph is `jobs.selectors.job_pipeline` (the jobs upstream and
downstream of this one that the user may see, with their last status),
drawn by the pure `jobs.pipeline_layout`. "Run pipeline from here" (POST
with CSRF) calls `jobs.services.dependencies.job_run_pipeline`, as the API
does, under the same right (`jobs.permissions.can_run_pipeline`).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from accounts.client import request_ip
from jobportal import clock
from jobs import permissions as perms
from jobs.admin.bases import ModelAdminMixin
from jobs.models import Job
from jobs.pipeline_layout import Node, render_svg
from jobs.selectors import job_pipeline
from jobs.services.dependencies import job_run_pipeline
from jobs.services.runs import ScriptNotRunnableError

MSG_PIPELINE_STARTED = (
    "Queued run {run} of {job}; the jobs after it follow as their dependencies are met."
)


def pipeline_svg(request: HttpRequest, job: Job) -> SafeString | None:
    """Return the job's pipeline as SVG, or None when it has no dependencies."""
    pipeline = job_pipeline(job=job, visible=perms.jobs_visible_to(request.user))
    if not pipeline.edges:
        return None
    nodes = [
        Node(
            key=member.pk,
            name=member.name,
            status=getattr(member, "last_run_status", None),
            is_active=member.is_active,
            is_current=member.pk == job.pk,
            url=reverse("admin:jobs_job_change", args=[member.pk]),
        )
        for member in pipeline.jobs
    ]
    edges = [(e.upstream, e.downstream) for e in pipeline.edges]
    # render_svg escapes every text and attribute it writes.
    return mark_safe(render_svg(nodes, edges))  # noqa: S308


class JobPipelineMixin(ModelAdminMixin):
    """The "Run pipeline from here" view of the job page."""

    def get_urls(self) -> list[URLPattern]:
        """Add the run-pipeline view."""
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/run-pipeline/",
                wrap(self.run_pipeline_view),
                name="jobs_job_run_pipeline",
            ),
            *super().get_urls(),
        ]

    def run_pipeline_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Run the job now (POST); its downstream jobs follow."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self.get_object(request, unquote(object_id))
        if not isinstance(job, Job):
            raise Http404
        if not perms.can_run_pipeline(request.user, job):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))
        try:
            run = job_run_pipeline(
                job=job,
                requested_by=request.user,
                now=clock.now(),
                ip=request_ip(request),
            )
        except ScriptNotRunnableError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return back
        link = format_html(
            '<a href="{}">#{}</a>',
            reverse("admin:jobs_jobrun_change", args=[run.pk]),
            run.pk,
        )
        self.message_user(
            request,
            format_html(MSG_PIPELINE_STARTED, run=link, job=job.name),
            messages.SUCCESS,
        )
        return back
