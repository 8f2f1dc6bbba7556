"""Figures per job: the slowest and most failing jobs, daily trends, totals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import (
    QuerySet,
    Sum,
)

from jobs.models import (
    JobMetricHour,
    JobRun,
    JobWeek,
    MetricTotal,
)
from jobs.selectors_metrics.scope import (
    RATED_STATUSES,
    TOP_JOBS,
    Jobs,
    ids_subquery,
)
from jobs.selectors_metrics.windows import day_start, hour_floor


@dataclass(frozen=True)
class JobFigure:
    """One job's figures over a window (slowest and most failing lists)."""

    job_id: int
    name: str
    runs: int
    failures: int
    average_duration_seconds: float | None
    max_duration_seconds: float


def _weeks(jobs: Jobs | None, *, since: datetime) -> QuerySet[JobWeek]:
    """Return the weeks of the jobs whose latest run ended since `since`."""
    weeks = JobWeek.objects.filter(last_hour__gte=hour_floor(since))
    if jobs is not None:
        weeks = weeks.filter(job__in=ids_subquery(jobs))
    return weeks.select_related("job").only(
        "job__name",
        "runs",
        "failures",
        "average_duration",
        "duration_max",
        "last_hour",
    )


def slowest_jobs(*, jobs: Jobs | None, since: datetime) -> list[JobFigure]:
    """Return the jobs with the longest average duration over their last week.

    A job's week is the 7 days up to its latest ended run; only jobs whose
    latest run ended since `since` are listed.
    """
    weeks = _weeks(jobs, since=since).filter(average_duration__isnull=False)
    return _figures(weeks.order_by("-average_duration", "job")[:TOP_JOBS])


def failing_jobs(*, jobs: Jobs | None, since: datetime) -> list[JobFigure]:
    """Return the jobs with the most failures over their last week."""
    weeks = _weeks(jobs, since=since).filter(failures__gt=0)
    return _figures(weeks.order_by("-failures", "job")[:TOP_JOBS])


def _figures(weeks: Iterable[JobWeek]) -> list[JobFigure]:
    return [
        JobFigure(
            job_id=week.job_id,
            name=week.job.name,
            runs=week.runs,
            failures=week.failures,
            average_duration_seconds=week.average_duration,
            max_duration_seconds=week.duration_max,
        )
        for week in weeks
    ]


@dataclass(frozen=True)
class DayPoint:
    """One job's day: average duration and success rate (None: no runs)."""

    day: str
    average_duration_seconds: float | None
    success_rate: float | None


def job_daily_trends(
    *, job_ids: Sequence[int], days: list[datetime], zone: str
) -> dict[int, list[DayPoint]]:
    """Return, per job, one point per day of `days` (midnights in `zone`)."""
    if not job_ids or not days:
        return {}
    end = days[-1] + timedelta(days=1)
    rows = JobMetricHour.objects.filter(
        job_id__in=job_ids, hour__gte=days[0], hour__lt=end
    ).values_list("job_id", "hour", "status", "runs", "duration_sum", "duration_count")
    tz = ZoneInfo(zone)
    sums: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for job_id, hour, status, runs, d_sum, d_count in rows:
        bucket = sums[(job_id, hour.astimezone(tz).date().isoformat())]
        bucket[0] += d_sum
        bucket[1] += d_count
        if status == JobRun.Status.SUCCEEDED:
            bucket[2] += runs
        if status in RATED_STATUSES:
            bucket[3] += runs
    trends: dict[int, list[DayPoint]] = {}
    for job_id in job_ids:
        points = []
        for day in days:
            label = day.astimezone(tz).date().isoformat()
            total, timed, ok, rated = sums.get((job_id, label), [0.0] * 4)
            points.append(
                DayPoint(
                    day=label,
                    average_duration_seconds=total / timed if timed else None,
                    success_rate=ok / rated if rated else None,
                )
            )
        trends[job_id] = points
    return trends


def last_days(now: datetime, zone: str, count: int) -> list[datetime]:
    """Return the midnights (in `zone`) of the last `count` days, oldest first."""
    today = day_start(now, zone)
    tz = ZoneInfo(zone)
    days = []
    for back in range(count - 1, -1, -1):
        date = today.date() - timedelta(days=back)
        days.append(datetime(date.year, date.month, date.day, tzinfo=tz))
    return days


def totals() -> list[MetricTotal]:
    """Return the all-time rollup per status (the Prometheus counters)."""
    return list(MetricTotal.objects.order_by("status"))


def job_totals() -> list[tuple[int, str, str, int]]:
    """Return (job id, job name, status, runs) for every job, all time."""
    rows = (
        JobMetricHour.objects.values_list("job_id", "job__name", "status")
        .annotate(total=Sum("runs"))
        .order_by("job_id", "status")
    )
    return [(job_id, name, status, total) for job_id, name, status, total in rows]
