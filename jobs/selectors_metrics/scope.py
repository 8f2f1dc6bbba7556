"""Which jobs a metrics query reads, and the statuses the figures count.

`jobs` limits every number to some jobs (a user who may not see every job,
or a filter); None means all jobs. A page that asks several questions of
the same jobs first takes `job_ids_of(jobs)`: their ids, read once, which
each query then reads as one parameter instead of evaluating the user's
grants again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import NotSupportedError, connection
from django.db.models import ExpressionWrapper, F, IntegerField, QuerySet
from django.db.models.expressions import RawSQL

from jobs.models import Job, JobRun

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
MSG_DATABASE = "Metrics queries are written for SQLite and PostgreSQL, not {vendor}."


@dataclass(frozen=True)
class JobIds:
    """Some jobs' ids, read once (`job_ids_of`) for several queries."""

    ids: tuple[int, ...]
    # A large share of all jobs (`LARGE_SHARE`): read whole windows.
    is_large_share: bool = False

    @cached_property
    def as_text(self) -> str:
        """Return the ids as one text parameter: "[1,2]" (JSON) or "{1,2}"."""
        listed = ",".join(str(pk) for pk in self.ids)
        if connection.vendor == "postgresql":
            return "{" + listed + "}"
        return "[" + listed + "]"


# From this share of all jobs on, the rollups of a window are read for every
# job and kept if the job is one of the ids (a hash of them), rather than
# looked up job by job in the (job, hour, status) index. Measured on the
# bench fixture (10k jobs, one run a day each), 5,000 jobs: SQLite 45-50 ->
# 20-23 ms a query, PostgreSQL 24-45 -> 14-40 ms; 20 jobs: 0.1-0.6 -> 1-16
# ms, hence by share (a look-up costs about four rows of a scan).
LARGE_SHARE = 0.25

# Some jobs: a queryset (evaluated by each query as a subquery) or ids.
Jobs = QuerySet[Job] | JobIds


def job_ids_of(jobs: Jobs | None) -> JobIds | None:
    """Return the ids of `jobs` (None: all jobs), read once for several queries.

    With thousands of jobs granted one by one, each subquery over the
    user's grants costs about as much as the rollup read it filters
    (PostgreSQL, 5,000 jobs: a hash of the grants and 5,000 probes of
    the jobs' key, 10-50 ms a query); read once, a page's queries share it.
    """
    if jobs is None or isinstance(jobs, JobIds):
        return jobs
    ids = tuple(jobs.order_by().values_list("pk", flat=True))
    is_large = len(ids) >= LARGE_SHARE * Job.objects.count() and bool(ids)
    return JobIds(ids, is_large_share=is_large)


def _ids_sql(ids: JobIds) -> RawSQL:
    """Return a subquery of `ids` with one text parameter, whatever their number.

    A plain IN list would take one parameter per id (SQLite allows 32,766
    at most); a list parameter would be adapted id by id for each query.
    """
    if connection.vendor == "postgresql":
        return RawSQL("SELECT UNNEST(%s::bigint[])", [ids.as_text])
    if connection.vendor == "sqlite":
        return RawSQL("SELECT value FROM JSON_EACH(%s)", [ids.as_text])
    raise NotSupportedError(MSG_DATABASE.format(vendor=connection.vendor))


def ids_subquery(jobs: Jobs) -> Any:
    """Return what `job_id__in` compares with: `jobs`' ids as a subquery."""
    if isinstance(jobs, JobIds):
        return _ids_sql(jobs)
    return jobs.values("pk")


def of_jobs(rows: QuerySet[Any], jobs: Jobs, *, by_job_index: bool) -> QuerySet[Any]:
    """Return `rows` (with a `job_id`) of `jobs` only.

    `by_job_index=False` compares `job_id + 0`, which no index serves: the
    database then finds the rows through its other filters (a window, a
    status) and keeps those of `jobs` through a hash of their ids.
    """
    if by_job_index:
        return rows.filter(job_id__in=ids_subquery(jobs))
    of_job = ExpressionWrapper(F("job_id") + 0, output_field=IntegerField())
    return rows.alias(of_job=of_job).filter(of_job__in=ids_subquery(jobs))


def jobs_count(jobs: Jobs) -> int:
    """Return how many jobs `jobs` holds."""
    if isinstance(jobs, JobIds):
        return len(jobs.ids)
    return jobs.count()
