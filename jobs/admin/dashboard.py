"""The dashboard: the admin's landing page (the admin index, above the apps).

The figures come from `jobs.selectors_metrics` for the jobs the user may
see (`jobs.permissions.metrics_job_scope`); the charts are SVG drawn by
`jobs.charts`. Instants, hours and days are shown in the viewer's zone,
else JOB_PORTAL_TIMEZONE (`jobportal.times`, as everywhere in the admin); a
failed run's slot in the viewer's zone, else its job's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from jobportal import clock
from jobportal.times import zone_label
from jobs import charts, conf
from jobs import selectors_metrics as metrics
from jobs.admin.display import format_duration
from jobs.models import Job, JobRun
from jobs.permissions import metrics_job_scope

TREND_DAYS = 14
DASHBOARD_TEMPLATE = "admin/jobs/dashboard.html"


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _svg(markup: str) -> SafeString:
    # charts.* escape every text they draw.
    return mark_safe(markup)  # noqa: S308


def dashboard_context(
    *, jobs: QuerySet[Job] | None, now: datetime, zone: str
) -> dict[str, Any]:
    """Return the dashboard's figures and charts for `jobs` (None: all).

    `zone` (an IANA name) is where "today", the days of the trends and the
    hours of the chart are counted and labelled.
    """
    tz = ZoneInfo(zone)
    day = metrics.day_start(now, zone)
    last_24h = now - timedelta(hours=23)
    week = now - timedelta(days=6, hours=23)
    # The last 24 hours hour by hour, in one query: the 24-hour figures,
    # today's (which began within them) and the chart add these hours up.
    hours = metrics.hourly_stats(
        jobs=jobs, since=last_24h, until=now, buckets=("lateness_buckets",)
    )
    stats_24h = metrics.stats_sum(hours, since=last_24h, until=now)
    today = metrics.stats_sum(hours, since=day, until=now)
    if metrics.hour_floor(day) < min(hours, default=now):
        # A 25-hour day (clocks set back) began before the 24 hours.
        today = metrics.window_stats(jobs=jobs, since=day, until=now)
    # Counts only: the dashboard shows no duration or lateness over 7 days.
    stats_7d = metrics.window_counts(jobs=jobs, since=week, until=now)
    live = metrics.live_state(
        jobs=jobs, now=now, lost_after_seconds=conf.worker_lost_after_seconds()
    )
    hourly = metrics.outcomes_per_hour(hours)
    slowest = metrics.slowest_jobs(jobs=jobs, since=week)
    failing = metrics.failing_jobs(jobs=jobs, since=week)
    return {
        "now": now,
        "zone": zone,
        "slot_zone": zone_label(per_job=True),
        "last_status": _last_status_rows(metrics.jobs_by_last_status(jobs)),
        "rate_24h": _percent(stats_24h.success_rate),
        "rate_7d": _percent(stats_7d.success_rate),
        "runs_24h": stats_24h.runs,
        "failures_24h": stats_24h.failures,
        "runs_7d": stats_7d.runs,
        "failures": _failure_rows(jobs=jobs, since=now - timedelta(hours=24)),
        "live": live,
        "oldest_queued_age": format_duration(
            (now - live.oldest_queued_at).total_seconds()
            if live.oldest_queued_at
            else None
        ),
        "workers": [
            {**w, "age": format_duration(w["heartbeat_age_seconds"])}
            for w in live.workers
        ],
        "lateness": {
            name: format_duration(value)
            for name, value in today.lateness_quantiles().items()
        },
        "lateness_runs": today.lateness_count,
        "hourly_chart": _svg(
            charts.stacked_bars(
                [(f"{hour.astimezone(tz):%H:%M}", ok, bad) for hour, ok, bad in hourly],
                label=f"Runs per hour ({zone}), last 24 hours: succeeded and failed",
            )
        ),
        "job_tables": [
            (
                "Slowest jobs (average duration, the week up to each job's last run)",
                _job_rows(slowest, now=now, zone=zone),
                "jobs-slowest",
            ),
            (
                "Most failing jobs (failures in the week up to each job's last run)",
                _job_rows(failing, now=now, zone=zone),
                "jobs-failing",
            ),
        ],
    }


def _last_status_rows(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """Return (label, status, count) in the statuses' order, "never" last."""
    labels = {**dict(JobRun.Status.choices), metrics.NEVER: "Never ran"}
    return [
        (label, status, counts[status])
        for status, label in labels.items()
        if counts.get(status)
    ]


def _failure_rows(*, jobs: QuerySet[Job] | None, since: datetime) -> list[Any]:
    return [
        {
            "run": run,
            "url": reverse("admin:jobs_jobrun_change", args=[run.pk]),
            "job_url": reverse("admin:jobs_job_change", args=[run.job_id]),
        }
        for run in metrics.recent_failures(jobs=jobs, since=since)
    ]


def _job_rows(
    figures: list[metrics.JobFigure], *, now: datetime, zone: str
) -> list[dict[str, Any]]:
    days = metrics.last_days(now, zone, TREND_DAYS)
    trends = metrics.job_daily_trends(
        job_ids=[f.job_id for f in figures], days=days, zone=zone
    )
    rows = []
    for figure in figures:
        points = trends.get(figure.job_id, [])
        rows.append(
            {
                "figure": figure,
                "url": reverse("admin:jobs_job_change", args=[figure.job_id]),
                "average": format_duration(figure.average_duration_seconds),
                "max": format_duration(figure.max_duration_seconds),
                "duration_trend": _svg(
                    charts.sparkline(
                        [p.average_duration_seconds for p in points],
                        label=f"{figure.name}: average duration per day",
                    )
                ),
                "success_trend": _svg(
                    charts.sparkline(
                        [p.success_rate for p in points],
                        label=f"{figure.name}: success rate per day",
                        maximum=1.0,
                        colour=charts.OK_COLOUR,
                    )
                ),
            }
        )
    return rows


_admin_index = admin.site.index


def dashboard_index(
    request: HttpRequest, extra_context: dict[str, Any] | None = None
) -> TemplateResponse:
    """Render the admin index with the dashboard for the user's jobs on top."""
    context = dict(extra_context or {})
    context["dashboard"] = dashboard_context(
        jobs=metrics_job_scope(request.user),
        now=clock.now(),
        zone=zone_label(per_job=False),
    )
    return _admin_index(request, context)


# The admin index becomes the dashboard (the site's URLs are built after the
# admin modules are imported, so they route to this function).
admin.site.index = dashboard_index  # type: ignore[method-assign]
admin.site.index_template = DASHBOARD_TEMPLATE
