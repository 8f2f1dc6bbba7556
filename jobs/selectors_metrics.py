"""Reads behind the dashboard, `GET /api/metrics` and `/metrics`.

Counts, durations and lateness come from the hourly rollups
(`jobs.models.metrics`), never from scanning runs: a window is the whole
UTC hours from `since` (floored to its hour) to `until`. Live state (runs
running and queued, workers) is read from its own small, indexed sets.

`jobs` limits every number to some jobs (a user who may not see every job,
or a filter); None means all jobs and reads the all-jobs rollup, which is
a few hundred rows a week whatever the number of jobs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import NotSupportedError
from django.db.models import (
    BigIntegerField,
    Count,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
)

from jobs import histograms
from jobs.models import (
    Job,
    JobLastOutcome,
    JobMetricHour,
    JobRun,
    JobWeek,
    MetricHour,
    MetricTotal,
    Worker,
)

# Runs that count against the success rate; skipped and cancelled do not.
FAILURE_STATUSES = (
    JobRun.Status.FAILED,
    JobRun.Status.TIMED_OUT,
    JobRun.Status.LOST,
    JobRun.Status.BLOCKED,
)
RATED_STATUSES = (JobRun.Status.SUCCEEDED, *FAILURE_STATUSES)
NEVER = "never"
QUANTILES = (0.5, 0.95, 0.99)
TOP_JOBS = 10
MSG_DATABASE = "Histogram sums are written for SQLite and PostgreSQL, not {vendor}."


def hour_floor(instant: datetime) -> datetime:
    """Return the start of `instant`'s hour."""
    return instant.replace(minute=0, second=0, microsecond=0)


def day_start(now: datetime, zone: str) -> datetime:
    """Return the last midnight in `zone` before `now`, as an aware instant."""
    local = now.astimezone(ZoneInfo(zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class WindowStats:
    """What the rollups say about the runs that ended in a window."""

    since: datetime
    until: datetime
    runs_by_status: dict[str, int] = field(default_factory=dict)
    duration_count: int = 0
    duration_sum: float = 0.0
    duration_max: float = 0.0
    duration_buckets: list[int] = field(default_factory=list)
    lateness_count: int = 0
    lateness_sum: float = 0.0
    lateness_buckets: list[int] = field(default_factory=list)

    @property
    def runs(self) -> int:
        """Return how many runs ended in the window."""
        return sum(self.runs_by_status.values())

    @property
    def failures(self) -> int:
        """Return how many of them failed (failed, timed out, lost, blocked)."""
        return sum(self.runs_by_status.get(s, 0) for s in FAILURE_STATUSES)

    @property
    def success_rate(self) -> float | None:
        """Return succeeded / (succeeded + failures), None without either."""
        rated = sum(self.runs_by_status.get(s, 0) for s in RATED_STATUSES)
        if not rated:
            return None
        return self.runs_by_status.get(JobRun.Status.SUCCEEDED, 0) / rated

    def lateness_quantiles(self) -> dict[str, float | None]:
        """Return lateness p50, p95 and p99 in seconds (bucket-interpolated)."""
        return _quantiles(self.lateness_buckets, histograms.LATENESS_BOUNDS)

    def duration_quantiles(self) -> dict[str, float | None]:
        """Return duration p50, p95 and p99 in seconds (bucket-interpolated)."""
        return _quantiles(self.duration_buckets, histograms.DURATION_BOUNDS)


def _quantiles(
    counts: Sequence[int], bounds: Sequence[float]
) -> dict[str, float | None]:
    return {
        f"p{round(q * 100)}": histograms.quantile(counts, bounds, q) for q in QUANTILES
    }


def _rollup_rows(
    jobs: QuerySet[Job] | None, *, since: datetime, until: datetime
) -> QuerySet[Any]:
    """Return the rollup rows of the window: all jobs' or those of `jobs`."""
    window = Q(hour__gte=hour_floor(since), hour__lt=until)
    if jobs is None:
        return MetricHour.objects.filter(window)
    return JobMetricHour.objects.filter(window, job__in=jobs.values("pk"))


class BucketCount(Func):
    """One bucket's count in a JSON histogram column, as a bigint (NULL if none).

    Plainer than Django's key transforms, which test each value's JSON type
    first: on SQLite that is three JSON calls per bucket and row instead of
    one, for tens of thousands of rows.
    """

    output_field = BigIntegerField()

    def __init__(self, field: str, index: int) -> None:
        """Read bucket `index` (0-based) of the JSON array in `field`."""
        super().__init__(F(field))
        self.index = index

    def as_sqlite(
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        """Return JSON_EXTRACT(field, '$[index]')."""
        sql, params = compiler.compile(self.source_expressions[0])
        return f"JSON_EXTRACT({sql}, %s)", [*params, f"$[{self.index}]"]

    def as_postgresql(
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        """Return (field ->> index)::bigint."""
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(({sql}) ->> %s)::bigint", [*params, self.index]

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> Any:
        """Refuse other databases: the portal runs on SQLite and PostgreSQL."""
        raise NotSupportedError(MSG_DATABASE.format(vendor=connection.vendor))


def _bucket_sums(field: str, bounds: Sequence[float]) -> dict[str, Sum]:
    """Return one SUM per bucket of the JSON histogram `field` (+Inf included).

    The database adds the histograms up, so that no row's JSON is decoded
    in Python, however many jobs and hours the window holds; an empty
    histogram (`[]`) adds nothing.
    """
    return {
        f"{field}_{index}": Sum(BucketCount(field, index))
        for index in range(len(bounds) + 1)
    }


_WINDOW_SUMS: dict[str, Any] = {
    "runs_total": Sum("runs"),
    "d_count": Sum("duration_count"),
    "d_sum": Sum("duration_sum"),
    "d_max": Max("duration_max"),
    "l_count": Sum("lateness_count"),
    "l_sum": Sum("lateness_sum"),
}


# The histograms a window's figures may add up, with their bounds.
HISTOGRAMS: dict[str, tuple[float, ...]] = {
    "duration_buckets": histograms.DURATION_BOUNDS,
    "lateness_buckets": histograms.LATENESS_BOUNDS,
}


def _sums(buckets: Sequence[str]) -> dict[str, Any]:
    sums = dict(_WINDOW_SUMS)
    for name in buckets:
        sums.update(_bucket_sums(name, HISTOGRAMS[name]))
    return sums


def _add_row(stats: WindowStats, row: dict[str, Any], buckets: Sequence[str]) -> None:
    """Add one aggregate row (one status) to `stats`."""
    status = row["status"]
    runs = stats.runs_by_status.get(status, 0) + (row["runs_total"] or 0)
    stats.runs_by_status[status] = runs
    stats.duration_count += row["d_count"] or 0
    stats.duration_sum += row["d_sum"] or 0.0
    stats.duration_max = max(stats.duration_max, row["d_max"] or 0.0)
    stats.lateness_count += row["l_count"] or 0
    stats.lateness_sum += row["l_sum"] or 0.0
    if "duration_buckets" in buckets:
        stats.duration_buckets = histograms.merge(
            [stats.duration_buckets, _buckets(row, "duration_buckets")],
            histograms.DURATION_BOUNDS,
        )
    if "lateness_buckets" in buckets:
        stats.lateness_buckets = histograms.merge(
            [stats.lateness_buckets, _buckets(row, "lateness_buckets")],
            histograms.LATENESS_BOUNDS,
        )


def _empty(since: datetime, until: datetime) -> WindowStats:
    return WindowStats(
        since=since,
        until=until,
        duration_buckets=histograms.empty(histograms.DURATION_BOUNDS),
        lateness_buckets=histograms.empty(histograms.LATENESS_BOUNDS),
    )


def window_stats(
    *,
    jobs: QuerySet[Job] | None,
    since: datetime,
    until: datetime,
    buckets: Sequence[str] = tuple(HISTOGRAMS),
) -> WindowStats:
    """Return the runs that ended from `since`'s hour up to `until`.

    One aggregate grouped by status. Only the histograms named in `buckets`
    are added up, the others stay empty: fewer is a cheaper query, for
    figures that need only counts and sums.
    """
    stats = _empty(hour_floor(since), until)
    rows = (
        _rollup_rows(jobs, since=since, until=until)
        .values("status")
        .annotate(**_sums(buckets))
        .order_by()
    )
    for row in rows:
        _add_row(stats, row, buckets)
    return stats


def window_counts(
    *, jobs: QuerySet[Job] | None, since: datetime, until: datetime
) -> WindowStats:
    """Return only the runs by status that ended in the window (no durations).

    It reads only the rollups' hour, job, status and runs, which an index
    holds (`jobmetrichour_hour_runs_idx`): no table row is read.
    """
    stats = _empty(hour_floor(since), until)
    rows = (
        _rollup_rows(jobs, since=since, until=until)
        .values_list("status")
        .annotate(total=Sum("runs"))
        .order_by()
    )
    stats.runs_by_status = {status: total for status, total in rows}
    return stats


def hourly_stats(
    *,
    jobs: QuerySet[Job] | None,
    since: datetime,
    until: datetime,
    buckets: Sequence[str] = tuple(HISTOGRAMS),
) -> dict[datetime, WindowStats]:
    """Return each hour's figures from `since`'s hour up to `until`, in order.

    One aggregate grouped by hour and status; `stats_sum` adds hours up, so
    that windows inside this one (the last 24 hours, today) need no query
    of their own.
    """
    hours: dict[datetime, WindowStats] = {}
    hour = hour_floor(since)
    while hour < until:
        hours[hour] = _empty(hour, min(hour + timedelta(hours=1), until))
        hour += timedelta(hours=1)
    rows = (
        _rollup_rows(jobs, since=since, until=until)
        .values("hour", "status")
        .annotate(**_sums(buckets))
        .order_by()
    )
    for row in rows:
        stats = hours.get(hour_floor(row["hour"]))
        if stats is not None:
            _add_row(stats, row, buckets)
    return hours


def stats_sum(
    hours: dict[datetime, WindowStats], *, since: datetime, until: datetime
) -> WindowStats:
    """Return the figures of the hours from `since`'s hour up to `until`."""
    total = _empty(hour_floor(since), until)
    chosen = [s for h, s in hours.items() if total.since <= h < until]
    for stats in chosen:
        for status, runs in stats.runs_by_status.items():
            total.runs_by_status[status] = total.runs_by_status.get(status, 0) + runs
        total.duration_count += stats.duration_count
        total.duration_sum += stats.duration_sum
        total.duration_max = max(total.duration_max, stats.duration_max)
        total.lateness_count += stats.lateness_count
        total.lateness_sum += stats.lateness_sum
    total.duration_buckets = histograms.merge(
        [s.duration_buckets for s in chosen], histograms.DURATION_BOUNDS
    )
    total.lateness_buckets = histograms.merge(
        [s.lateness_buckets for s in chosen], histograms.LATENESS_BOUNDS
    )
    return total


def _buckets(row: dict[str, Any], field: str) -> list[int]:
    """Return the summed buckets of `field` from an aggregate row, in order."""
    counts = []
    index = 0
    while f"{field}_{index}" in row:
        counts.append(int(row[f"{field}_{index}"] or 0))
        index += 1
    return counts


def outcomes_per_hour(
    hours: dict[datetime, WindowStats],
) -> list[tuple[datetime, int, int]]:
    """Return (hour, succeeded, failures) for each of `hours`, in order."""
    return [
        (hour, stats.runs_by_status.get(JobRun.Status.SUCCEEDED, 0), stats.failures)
        for hour, stats in hours.items()
    ]


def hourly_outcomes(
    *, jobs: QuerySet[Job] | None, since: datetime, until: datetime
) -> list[tuple[datetime, int, int]]:
    """Return (hour, succeeded, failures) for each hour of the window, in order."""
    return outcomes_per_hour(
        hourly_stats(jobs=jobs, since=since, until=until, buckets=())
    )


def _runs_of(runs: QuerySet[JobRun], jobs: QuerySet[Job]) -> QuerySet[JobRun]:
    """Return `runs` of `jobs` only, found through their status, not their job.

    Runs running, queued or failed lately are few, and an index on status
    finds them; filtering on `job_id + 0` keeps the database from instead
    probing the (job, status) index once per visible job, which SQLite
    chose for thousands of jobs (5,000: 125 ms rather than 5 ms).
    """
    of_job = ExpressionWrapper(F("job_id") + 0, output_field=IntegerField())
    return runs.alias(of_job=of_job).filter(of_job__in=jobs.values("pk"))


def jobs_by_last_status(jobs: QuerySet[Job] | None) -> dict[str, int]:
    """Return how many jobs' latest slot ended in each status, and "never"."""
    outcomes = JobLastOutcome.objects.all()
    total = Job.objects.count() if jobs is None else jobs.count()
    if jobs is not None:
        outcomes = outcomes.filter(job__in=jobs.values("pk"))
    counts = dict(outcomes.values_list("status").annotate(count=Count("pk")).order_by())
    counts[NEVER] = max(total - sum(counts.values()), 0)
    return counts


@dataclass(frozen=True)
class LiveState:
    """Runs running and waiting now, and the workers."""

    running: int
    queued: int
    oldest_queued_at: datetime | None
    workers: list[dict[str, Any]]
    last_cycle_at: datetime | None

    @property
    def workers_alive(self) -> int:
        """Return how many workers heart-beat recently."""
        return sum(1 for worker in self.workers if worker["alive"])


def live_state(
    *, jobs: QuerySet[Job] | None, now: datetime, lost_after_seconds: float
) -> LiveState:
    """Return what runs and waits now; "queued" counts runs due to start."""
    runs = JobRun.objects.all()
    if jobs is not None:
        runs = _runs_of(runs, jobs)
    running = runs.filter(status=JobRun.Status.RUNNING).count()
    queued = runs.filter(status=JobRun.Status.QUEUED, not_before__lte=now).aggregate(
        count=Count("pk"), oldest=Min("not_before")
    )
    cutoff = now - timedelta(seconds=lost_after_seconds)
    workers = [
        {
            "name": worker.name,
            "host": worker.host,
            "last_heartbeat_at": worker.last_heartbeat_at,
            "heartbeat_age_seconds": (now - worker.last_heartbeat_at).total_seconds(),
            "alive": worker.last_heartbeat_at >= cutoff,
        }
        for worker in Worker.objects.filter(stopped_at__isnull=True).order_by(
            "-last_heartbeat_at", "name"
        )[:50]
    ]
    last_cycle_at = Worker.objects.aggregate(at=Max("last_cycle_at"))["at"]
    return LiveState(
        running=running,
        queued=queued["count"],
        oldest_queued_at=queued["oldest"],
        workers=workers,
        last_cycle_at=last_cycle_at,
    )


def recent_failures(
    *, jobs: QuerySet[Job] | None, since: datetime, limit: int = TOP_JOBS
) -> list[JobRun]:
    """Return the latest runs that failed since `since`, newest first."""
    runs = JobRun.objects.filter(status__in=FAILURE_STATUSES, finished_at__gte=since)
    if jobs is not None:
        runs = _runs_of(runs, jobs)
    return list(
        runs.select_related("job")
        .only(
            "pk",
            "status",
            "reason",
            "reason_code",
            "scheduled_for",
            "finished_at",
            "attempt",
            "job__name",
            "job__timezone",
        )
        .order_by("-finished_at")[:limit]
    )


@dataclass(frozen=True)
class JobFigure:
    """One job's figures over a window (slowest and most failing lists)."""

    job_id: int
    name: str
    runs: int
    failures: int
    average_duration_seconds: float | None
    max_duration_seconds: float


def _weeks(jobs: QuerySet[Job] | None, *, since: datetime) -> QuerySet[JobWeek]:
    """Return the weeks of the jobs whose latest run ended since `since`."""
    weeks = JobWeek.objects.filter(last_hour__gte=hour_floor(since))
    if jobs is not None:
        weeks = weeks.filter(job__in=jobs.values("pk"))
    return weeks.select_related("job").only(
        "job__name",
        "runs",
        "failures",
        "average_duration",
        "duration_max",
        "last_hour",
    )


def slowest_jobs(*, jobs: QuerySet[Job] | None, since: datetime) -> list[JobFigure]:
    """Return the jobs with the longest average duration over their last week.

    A job's week is the 7 days up to its latest ended run; only jobs whose
    latest run ended since `since` are listed.
    """
    weeks = _weeks(jobs, since=since).filter(average_duration__isnull=False)
    return _figures(weeks.order_by("-average_duration", "job")[:TOP_JOBS])


def failing_jobs(*, jobs: QuerySet[Job] | None, since: datetime) -> list[JobFigure]:
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


def metrics_report(
    *,
    jobs: QuerySet[Job] | None,
    since: datetime,
    until: datetime,
    now: datetime,
    lost_after_seconds: float,
) -> dict[str, Any]:
    """Return the figures of `GET /api/metrics` for `jobs` (None: all jobs)."""
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
