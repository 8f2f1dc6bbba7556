"""Recompute every metrics rollup from the runs: ``manage.py rebuildmetrics``.

For a database that had runs before the "metrics" consumer existed
(`jobs.services.metrics`). Run it while no worker runs: a run ending during
the rebuild could be counted twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from jobs.models import (
    JobLastOutcome,
    JobMetricHour,
    JobRun,
    JobWeek,
    MetricHour,
    MetricTotal,
)
from jobs.models.metrics import RollupFields
from jobs.services.events import run_events_ack, run_events_claim
from jobs.services.metrics import (
    CONSUMER,
    Observation,
    metrics_register,
    observation_of,
    rollup_add,
    week_of,
)

logger = logging.getLogger(__name__)

# Runs read per query by the rebuild.
REBUILD_CHUNK = 20000
# Per-job hourly rows held by the rebuild before they are written.
FLUSH_ROWS = 20000


def metrics_rebuild(*, now: datetime) -> int:
    """Recompute every rollup from the runs; return how many runs were counted.

    Events not yet counted are acked first (the runs hold them). Stop the
    workers while it runs.
    """
    with transaction.atomic():
        metrics_register(now=now)
        while claimed := run_events_claim(consumer=CONSUMER, limit=1000, now=now):
            run_events_ack(
                consumer=CONSUMER, event_ids=[e.pk for e in claimed], now=now
            )
        for model in (MetricHour, JobMetricHour, MetricTotal, JobLastOutcome, JobWeek):
            model.objects.all().delete()
        builder = _Rebuild()
        for observation in _finished_runs():
            builder.add(observation)
        builder.save()
    logger.info("Metrics rebuilt from %s runs", builder.counted)
    return builder.counted


def _finished_runs() -> Iterable[Observation]:
    """Yield every ended run, job by job, in chunks of REBUILD_CHUNK rows.

    Job by job, so that the rebuild can write a job's hourly rows as soon as
    the next job starts (memory stays bounded by one job's history).
    """
    fields = (
        "job_id",
        "pk",
        "status",
        "scheduled_for",
        "attempt",
        "not_before",
        "started_at",
        "finished_at",
    )
    ended = JobRun.objects.filter(
        status__in=JobRun.FINISHED, finished_at__isnull=False
    ).order_by("job_id", "pk")
    after: tuple[int, int] | None = None
    while True:
        page = ended
        if after is not None:
            job_id, pk = after
            page = ended.filter(Q(job_id__gt=job_id) | Q(job_id=job_id, pk__gt=pk))
        chunk = list(page.values_list(*fields)[:REBUILD_CHUNK])
        for job_id, pk, status, slot, attempt, not_before, started, finished in chunk:
            yield observation_of(
                run_id=pk,
                job_id=job_id,
                status=status,
                scheduled_for=slot,
                attempt=attempt,
                not_before=not_before,
                started_at=started,
                finished_at=finished,
                ended_at=finished,
            )
        if len(chunk) < REBUILD_CHUNK:
            return
        after = (chunk[-1][0], chunk[-1][1])


class _Rebuild:
    """Rollup rows built in memory, saved in bulk."""

    def __init__(self) -> None:
        self.hours: dict[tuple[Any, ...], MetricHour] = {}
        self.job_hours: dict[tuple[Any, ...], JobMetricHour] = {}
        self.totals: dict[str, MetricTotal] = {}
        self.last: dict[int, Observation] = {}
        self.counted = 0
        self.job_id: int | None = None
        self.job_rows: list[JobMetricHour] = []
        self.weeks: list[JobWeek] = []

    def add(self, observation: Observation) -> None:
        """Count one run (runs come job by job)."""
        if observation.job_id != self.job_id:
            self._close_job()
            if len(self.job_hours) >= FLUSH_ROWS:
                self._flush_job_hours()
            self.job_id = observation.job_id
        hour, status = observation.hour, observation.status
        key = (observation.job_id, hour, status)
        job_row = self.job_hours.get(key)
        if job_row is None:
            job_row = JobMetricHour(job_id=observation.job_id, hour=hour, status=status)
            self.job_hours[key] = job_row
            self.job_rows.append(job_row)
        rows: list[RollupFields] = [
            self.hours.setdefault((hour, status), MetricHour(hour=hour, status=status)),
            job_row,
            self.totals.setdefault(status, MetricTotal(status=status)),
        ]
        for row in rows:
            rollup_add(row, observation)
        latest = self.last.get(observation.job_id)
        slot = (observation.scheduled_for, observation.attempt)
        if latest is None or (latest.scheduled_for, latest.attempt) <= slot:
            self.last[observation.job_id] = observation
        self.counted += 1

    def _close_job(self) -> None:
        """Compute the week of the job whose rows are complete."""
        if self.job_id is not None and self.job_rows:
            end = max(row.hour for row in self.job_rows)
            self.weeks.append(week_of(self.job_rows, job_id=self.job_id, end=end))
        self.job_rows = []

    def _flush_job_hours(self) -> None:
        JobMetricHour.objects.bulk_create(self.job_hours.values(), batch_size=2000)
        self.job_hours.clear()

    def save(self) -> None:
        """Insert every row built."""
        self._close_job()
        MetricHour.objects.bulk_create(self.hours.values(), batch_size=2000)
        self._flush_job_hours()
        JobWeek.objects.bulk_create(self.weeks, batch_size=2000)
        MetricTotal.objects.bulk_create(self.totals.values())
        JobLastOutcome.objects.bulk_create(
            (
                JobLastOutcome(
                    job_id=o.job_id,
                    run_id=o.run_id,
                    status=o.status,
                    scheduled_for=o.scheduled_for,
                    attempt=o.attempt,
                    finished_at=o.ended_at,
                )
                for o in self.last.values()
            ),
            batch_size=2000,
        )
