"""Live updates: small JSON answers that a running run's pages poll.

A run's page (`RunLiveMixin`) and a job's recent runs (`JobRecentRunsMixin`)
refresh status, output and elapsed time from these, with the same rights as
the pages themselves; `jobs/static/jobs/live_runs.js` stops polling once the
runs have ended.
"""

from __future__ import annotations

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import URLPattern, path, reverse

from jobportal import clock
from jobs import permissions as perms
from jobs.admin.bases import ModelAdminMixin
from jobs.models import Job, JobRun
from jobs.presentation import run_live_json
from jobs.selectors import job_recent_runs

# How often the pages poll, in milliseconds: output is flushed every second.
POLL_MS = 1000


class RunLiveMixin(ModelAdminMixin):
    """Add `<run>/live/`: the run's status, output and elapsed time."""

    def get_urls(self) -> list[URLPattern]:
        """Add the live view."""
        return [
            path(
                "<path:object_id>/live/",
                self.admin_site.admin_view(self.live_view),
                name="jobs_jobrun_live",
            ),
            *super().get_urls(),
        ]

    def live_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """Answer the run as JSON, to those who may see its page."""
        run = self.get_object(request, unquote(object_id))
        if not isinstance(run, JobRun):
            raise Http404
        if not self.has_view_permission(request, run):
            raise PermissionDenied
        return JsonResponse(run_live_json(run, now=clock.now()))

    def live_config(self, run: JobRun) -> dict[str, object]:
        """Return what the run page's script needs to poll."""
        return {
            "url": reverse("admin:jobs_jobrun_live", args=[run.pk]),
            "isFinished": run.is_finished,
            "pollMs": POLL_MS,
        }


class JobRecentRunsMixin(ModelAdminMixin):
    """Add `<job>/recent-runs/`: the job's latest runs, without output."""

    def get_urls(self) -> list[URLPattern]:
        """Add the recent-runs view."""
        return [
            path(
                "<path:object_id>/recent-runs/",
                self.admin_site.admin_view(self.recent_runs_view),
                name="jobs_job_recent_runs",
            ),
            *super().get_urls(),
        ]

    def recent_runs_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """Answer the job's latest runs as JSON, to those who may see the job."""
        job = self.get_object(request, unquote(object_id))
        if not isinstance(job, Job):
            raise Http404
        if not perms.can_view_job(request.user, job):
            raise PermissionDenied
        now = clock.now()
        runs = [
            {
                **run_live_json(run, now=now, with_output=False),
                "url": reverse("admin:jobs_jobrun_change", args=[run.pk]),
            }
            for run in job_recent_runs(job=job)
        ]
        return JsonResponse({"runs": runs})
