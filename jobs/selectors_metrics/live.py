"""What runs and waits now, the jobs' last statuses, the latest failures.

Read from their own small, indexed sets, not from the rollups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    Max,
    Min,
    QuerySet,
)

from jobs.models import (
    Job,
    JobLastOutcome,
    JobRun,
    Worker,
)
from jobs.selectors_metrics.scope import (
    FAILURE_STATUSES,
    NEVER,
    TOP_JOBS,
    Jobs,
    ids_subquery,
    jobs_count,
    of_jobs,
)


def _runs_of(runs: QuerySet[JobRun], jobs: Jobs) -> QuerySet[JobRun]:
    """Return `runs` of `jobs` only, found through their status, not their job.

    Runs running, queued or failed lately are few, and an index on status
    finds them; filtering on `job_id + 0` keeps the database from instead
    probing the (job, status) index once per visible job, which SQLite
    chose for thousands of jobs (5,000: 125 ms rather than 5 ms).
    """
    return of_jobs(runs, jobs, by_job_index=False)


def jobs_by_last_status(jobs: Jobs | None) -> dict[str, int]:
    """Return how many jobs' latest slot ended in each status, and "never"."""
    outcomes = JobLastOutcome.objects.all()
    total = Job.objects.count() if jobs is None else jobs_count(jobs)
    if jobs is not None:
        outcomes = outcomes.filter(job__in=ids_subquery(jobs))
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
    *, jobs: Jobs | None, now: datetime, lost_after_seconds: float
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
    *, jobs: Jobs | None, since: datetime, limit: int = TOP_JOBS
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
