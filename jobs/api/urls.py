"""Routes of the jobs API, mounted at /api/ (see `jobportal.urls`).

Paths have no trailing slash, as documented (`/api/jobs/7/run`); a trailing
slash is accepted too.
"""

from django.urls import re_path

from jobportal.api.routers import OptionalSlashRouter
from jobs.api.views import (
    artifacts,
    batch_runs,
    blackouts,
    health,
    jobs,
    metrics,
    pipelines,
    runs,
    schedules,
    scripts,
    templates,
    timeline,
    versions,
    workers,
)

router = OptionalSlashRouter()
router.register("jobs", jobs.JobViewSet, basename="job")
router.register("logs", runs.RunViewSet, basename="log")
router.register("scripts", scripts.ScriptViewSet, basename="script")
router.register("versions", versions.VersionViewSet, basename="version")
router.register("blackouts", blackouts.BlackoutCalendarViewSet, basename="blackout")
router.register("templates", templates.TemplateViewSet, basename="template")
router.register(
    "template-versions",
    templates.TemplateVersionViewSet,
    basename="template-version",
)

urlpatterns = [
    re_path(r"^health/?$", health.HealthView.as_view(), name="health"),
    re_path(r"^metrics/?$", metrics.MetricsView.as_view(), name="metrics"),
    re_path(r"^workers/?$", workers.WorkerListView.as_view(), name="workers"),
    re_path(
        r"^schedules/preview/?$",
        schedules.SchedulePreviewView.as_view(),
        name="schedule-preview",
    ),
    re_path(r"^runs/?$", batch_runs.BatchRunsView.as_view(), name="run-batch"),
    re_path(
        r"^logs/(?P<run_pk>[^/]+)/artifacts/?$",
        artifacts.RunArtifactsView.as_view(),
        name="run-artifacts",
    ),
    re_path(
        r"^logs/(?P<run_pk>[^/]+)/artifacts/(?P<artifact_pk>[^/]+)/?$",
        artifacts.RunArtifactDownloadView.as_view(),
        name="run-artifact",
    ),
    re_path(
        r"^jobs/(?P<job_pk>[0-9]+)/logs/?$",
        runs.JobLogsView.as_view(),
        name="job-logs",
    ),
    re_path(
        r"^jobs/(?P<job_pk>[0-9]+)/timeline/?$",
        timeline.JobTimelineView.as_view(),
        name="job-timeline",
    ),
    re_path(
        r"^jobs/(?P<job_pk>[0-9]+)/timeline/run/?$",
        timeline.JobTimelineRunView.as_view(),
        name="job-timeline-run",
    ),
    re_path(
        r"^jobs/(?P<job_pk>[0-9]+)/template/?$",
        templates.JobOriginView.as_view(),
        name="job-template",
    ),
    re_path(
        r"^jobs/(?P<job_pk>[0-9]+)/graph/?$",
        pipelines.JobGraphView.as_view(),
        name="job-graph",
    ),
    re_path(
        r"^jobs/(?P<job_pk>[0-9]+)/run-pipeline/?$",
        pipelines.JobRunPipelineView.as_view(),
        name="job-run-pipeline",
    ),
    *router.urls,
]
