"""Reads behind the dashboard, `GET /api/metrics` and `/metrics`.

A package by concern: `scope` (which jobs), `windows` (figures over a
window, from the hourly rollups), `live` (what runs and waits now),
`per_job` (slowest and failing jobs, trends, totals); the API's report
is put together here. The names below are the package's interface.

Counts, durations and lateness come from the hourly rollups
(`jobs.models.metrics`), never from scanning runs: a window is the whole
UTC hours from `since` (floored to its hour) to `until`. Live state (runs
running and queued, workers) is read from its own small, indexed sets.

`jobs` limits every number to some jobs (a user who may not see every job,
or a filter); None means all jobs and reads the all-jobs rollup, which is
a few hundred rows a week whatever the number of jobs. A page that asks
several questions of the same jobs first takes `job_ids_of(jobs)`: their
ids, read once, which each query then reads as one parameter instead of
evaluating the user's grants again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jobs.selectors_metrics.live import (
    LiveState,
    jobs_by_last_status,
    live_state,
    recent_failures,
)
from jobs.selectors_metrics.per_job import (
    DayPoint,
    JobFigure,
    failing_jobs,
    job_daily_trends,
    job_totals,
    last_days,
    slowest_jobs,
    totals,
)
from jobs.selectors_metrics.scope import (
    FAILURE_STATUSES,
    NEVER,
    RATED_STATUSES,
    TOP_JOBS,
    JobIds,
    Jobs,
    job_ids_of,
)
from jobs.selectors_metrics.windows import (
    HISTOGRAMS,
    WindowStats,
    day_start,
    hour_floor,
    hourly_outcomes,
    hourly_stats,
    outcomes_per_hour,
    stats_sum,
    window_counts,
    window_stats,
)

__all__ = [
    "FAILURE_STATUSES",
    "HISTOGRAMS",
    "NEVER",
    "RATED_STATUSES",
    "TOP_JOBS",
    "DayPoint",
    "JobFigure",
    "JobIds",
    "Jobs",
    "LiveState",
    "WindowStats",
    "day_start",
    "failing_jobs",
    "hour_floor",
    "hourly_outcomes",
    "hourly_stats",
    "job_daily_trends",
    "job_ids_of",
    "job_totals",
    "jobs_by_last_status",
    "last_days",
    "live_state",
    "metrics_report",
    "outcomes_per_hour",
    "recent_failures",
    "slowest_jobs",
    "stats_sum",
    "totals",
    "window_counts",
    "window_stats",
]


def metrics_report(
    *,
    jobs: Jobs | None,
    since: datetime,
    until: datetime,
    now: datetime,
    lost_after_seconds: float,
) -> dict[str, Any]:
    """Return the figures of `GET /api/metrics` for `jobs` (None: all jobs)."""
    jobs = job_ids_of(jobs)
    stats = window_stats(jobs=jobs, since=since, until=until)
    live = live_state(jobs=jobs, now=now, lost_after_seconds=lost_after_seconds)
    oldest = live.oldest_queued_at
    return {
        "from": stats.since,
        "to": until,
        "runs": {
            "total": stats.runs,
            "by_status": stats.runs_by_status,
            "failures": stats.failures,
            "success_rate": stats.success_rate,
        },
        "duration_seconds": {
            "count": stats.duration_count,
            "sum": stats.duration_sum,
            "average": _average(stats.duration_sum, stats.duration_count),
            "max": stats.duration_max if stats.duration_count else None,
            **stats.duration_quantiles(),
        },
        "lateness_seconds": {
            "count": stats.lateness_count,
            "sum": stats.lateness_sum,
            "average": _average(stats.lateness_sum, stats.lateness_count),
            **stats.lateness_quantiles(),
        },
        "jobs_by_last_status": jobs_by_last_status(jobs),
        "running": live.running,
        "queue": {
            "depth": live.queued,
            "oldest_queued_at": oldest,
            "oldest_age_seconds": (now - oldest).total_seconds() if oldest else None,
        },
        "workers": {"alive": live.workers_alive, "listed": len(live.workers)},
        "last_cycle_at": live.last_cycle_at,
    }


def _average(total: float, count: int) -> float | None:
    return total / count if count else None
