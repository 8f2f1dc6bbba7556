"""Run figures over a window, from the hourly rollups.

Counts, durations and lateness come from the hourly rollups
(`jobs.models.metrics`), never from scanning runs: a window is the whole
UTC hours from `since` (floored to its hour) to `until`. None as `jobs`
reads the all-jobs rollup, which is a few hundred rows a week whatever
the number of jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import NotSupportedError
from django.db.models import (
    BigIntegerField,
    F,
    Func,
    Max,
    Q,
    QuerySet,
    Sum,
)

from jobs import histograms
from jobs.models import (
    JobMetricHour,
    JobRun,
    MetricHour,
)
from jobs.selectors_metrics.scope import (
    FAILURE_STATUSES,
    MSG_DATABASE,
    QUANTILES,
    RATED_STATUSES,
    JobIds,
    Jobs,
    of_jobs,
)


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
    jobs: Jobs | None, *, since: datetime, until: datetime
) -> QuerySet[Any]:
    """Return the rollup rows of the window: all jobs' or those of `jobs`."""
    window = Q(hour__gte=hour_floor(since), hour__lt=until)
    if jobs is None:
        return MetricHour.objects.filter(window)
    rows = JobMetricHour.objects.filter(window)
    is_large = isinstance(jobs, JobIds) and jobs.is_large_share
    return of_jobs(rows, jobs, by_job_index=not is_large)


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
    jobs: Jobs | None,
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
    *, jobs: Jobs | None, since: datetime, until: datetime
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
    jobs: Jobs | None,
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
    *, jobs: Jobs | None, since: datetime, until: datetime
) -> list[tuple[datetime, int, int]]:
    """Return (hour, succeeded, failures) for each hour of the window, in order."""
    return outcomes_per_hour(
        hourly_stats(jobs=jobs, since=since, until=until, buckets=())
    )
