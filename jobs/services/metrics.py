"""Keep the metrics rollups: the "metrics" run-event consumer and a rebuild.

`metrics_consume` (a worker step) claims run events and, for each ended
run, adds it to three rollups in the transaction that acks the event
(README, "Extending the portal"): the all-jobs hour, the job's hour, the
all-time total per status; and it moves the job's last outcome forward.
A run is counted in the hour its event was written (when it ended).
Duration is finished minus started; lateness is started minus `not_before`
(the slot, or the retry's due time): both only for runs that started.

`metrics_rebuild` recomputes every rollup from the runs (for a database
that had runs before this consumer existed; `manage.py rebuildmetrics`).
Run it while no worker runs: a run ending during the rebuild could be
counted twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from jobs import histograms
from jobs.models import (
    JobLastOutcome,
    JobMetricHour,
    JobRun,
    JobWeek,
    MetricHour,
    MetricTotal,
    RunEvent,
)
from jobs.models.metrics import RollupFields
from jobs.services.events import (
    run_event_consumer_register,
    run_events_ack,
    run_events_claim,
)

logger = logging.getLogger(__name__)

CONSUMER = "metrics"
# Events handled per worker step at most.
CONSUME_BATCH = 200
# Runs read per query by the rebuild.
REBUILD_CHUNK = 20000
# Per-job hourly rows held by the rebuild before they are written.
FLUSH_ROWS = 20000
# The slowest and most failing jobs look at this much of each job's history.
WEEK = timedelta(days=7)
# Failures for the success rate and the "most failing" list.
FAILURE_STATUSES = frozenset(
    {
        JobRun.Status.FAILED,
        JobRun.Status.TIMED_OUT,
        JobRun.Status.LOST,
        JobRun.Status.BLOCKED,
    }
)


@dataclass(frozen=True)
class Observation:
    """One ended run as the rollups count it."""

    job_id: int
    run_id: int
    status: str
    scheduled_for: datetime
    attempt: int
    ended_at: datetime
    duration_seconds: float | None
    lateness_seconds: float | None

    @property
    def hour(self) -> datetime:
        """Return the UTC hour the run ended in."""
        return self.ended_at.replace(minute=0, second=0, microsecond=0)


def observation_of(
    *,
    run_id: int,
    job_id: int,
    status: str,
    scheduled_for: datetime,
    attempt: int,
    not_before: datetime,
    started_at: datetime | None,
    finished_at: datetime | None,
    ended_at: datetime,
) -> Observation:
    """Return how the rollups count a run that ended at `ended_at`."""
    duration = lateness = None
    if started_at is not None:
        lateness = max((started_at - not_before).total_seconds(), 0.0)
        if finished_at is not None:
            duration = max((finished_at - started_at).total_seconds(), 0.0)
    return Observation(
        job_id=job_id,
        run_id=run_id,
        status=status,
        scheduled_for=scheduled_for,
        attempt=attempt,
        ended_at=ended_at,
        duration_seconds=duration,
        lateness_seconds=lateness,
    )


def rollup_add(row: RollupFields, observation: Observation) -> None:
    """Add one observation to a rollup row's counts, sums and histograms."""
    row.runs += 1
    duration = observation.duration_seconds
    if duration is not None:
        row.duration_count += 1
        row.duration_sum += duration
        row.duration_max = max(row.duration_max, duration)
        row.duration_buckets = histograms.observe(
            row.duration_buckets, histograms.DURATION_BOUNDS, duration
        )
    lateness = observation.lateness_seconds
    if lateness is not None:
        row.lateness_count += 1
        row.lateness_sum += lateness
        row.lateness_buckets = histograms.observe(
            row.lateness_buckets, histograms.LATENESS_BOUNDS, lateness
        )


def metrics_register(*, now: datetime) -> None:
    """Register the consumer, so that retention keeps events until counted."""
    run_event_consumer_register(name=CONSUMER, now=now)


def metrics_consume(*, now: datetime, limit: int = CONSUME_BATCH) -> int:
    """Count up to `limit` run events into the rollups; return how many ended runs.

    The batch is acked in the transaction that writes its rows, so an event
    is counted once even when two workers consume at once. Its runs are
    added up in memory first: the transaction writes each rollup row once
    per batch (a handful of statements, not a dozen per event), so the
    worker's loop and SQLite's single write lock are not held for long.
    """
    claimed = run_events_claim(consumer=CONSUMER, limit=limit, now=now)
    if not claimed:
        return 0
    ended = [event for event in claimed if event.kind == RunEvent.Kind.ENDED]
    runs = JobRun.objects.in_bulk([event.run_id for event in ended])
    ids = [event.pk for event in claimed]
    try:
        with transaction.atomic():
            if run_events_ack(consumer=CONSUMER, event_ids=ids, now=now) != len(ids):
                raise _PartlyAckedError
            return _record_all(_observations(ended, runs))
    except _PartlyAckedError:
        # Another worker acked some of them first (its claim had expired):
        # one by one, each counted only if its own ack counts.
        counted = 0
        for event in ended:
            with transaction.atomic():
                if run_events_ack(consumer=CONSUMER, event_ids=[event.pk], now=now):
                    counted += _record_all(_observations([event], runs))
        return counted


class _PartlyAckedError(Exception):
    """Some events of a batch were acked by another worker meanwhile."""


def _observations(
    events: Iterable[RunEvent], runs: dict[int, JobRun]
) -> list[Observation]:
    return [
        _observe_event(event, runs[event.run_id])
        for event in events
        if event.run_id in runs
    ]


def _observe_event(event: RunEvent, run: JobRun) -> Observation:
    return observation_of(
        run_id=run.pk,
        job_id=run.job_id,
        status=event.status,
        scheduled_for=run.scheduled_for,
        attempt=run.attempt,
        not_before=run.not_before,
        started_at=run.started_at,
        finished_at=run.finished_at,
        ended_at=event.at,
    )


def _record_all(observations: list[Observation]) -> int:
    """Add `observations` to their rollup rows, each row written once.

    Return how many were added (in the caller's transaction).
    """
    hours: dict[tuple[datetime, str], list[Observation]] = {}
    job_hours: dict[tuple[int, datetime, str], list[Observation]] = {}
    totals: dict[str, list[Observation]] = {}
    for observation in observations:
        hour, status = observation.hour, observation.status
        hours.setdefault((hour, status), []).append(observation)
        job_hours.setdefault((observation.job_id, hour, status), []).append(observation)
        totals.setdefault(status, []).append(observation)
    for (hour, status), group in hours.items():
        _rollup_save(
            MetricHour.objects.select_for_update().get_or_create(
                hour=hour, status=status
            )[0],
            group,
        )
    for (job_id, hour, status), group in job_hours.items():
        _rollup_save(
            JobMetricHour.objects.select_for_update().get_or_create(
                job_id=job_id, hour=hour, status=status
            )[0],
            group,
        )
    for status, group in totals.items():
        _rollup_save(
            MetricTotal.objects.select_for_update().get_or_create(status=status)[0],
            group,
        )
    latest: dict[int, Observation] = {}
    newest_hour: dict[int, datetime] = {}
    for observation in observations:
        job_id, best = observation.job_id, latest.get(observation.job_id)
        if best is None or _slot_key(observation) >= _slot_key(best):
            latest[job_id] = observation
        newest_hour[job_id] = max(
            newest_hour.get(job_id, observation.hour), observation.hour
        )
    for job_id, observation in latest.items():
        _last_outcome_move(observation)
        _job_week_refresh(job_id, hour=newest_hour[job_id])
    return len(observations)


def _rollup_save(row: RollupFields, observations: Iterable[Observation]) -> None:
    for observation in observations:
        rollup_add(row, observation)
    row.save()


def _slot_key(observation: Observation) -> tuple[datetime, int]:
    return (observation.scheduled_for, observation.attempt)


def week_of(rows: Iterable[JobMetricHour], *, job_id: int, end: datetime) -> JobWeek:
    """Return a job's figures over the week of hourly rows up to hour `end`."""
    week = JobWeek(job_id=job_id, last_hour=end)
    start = end - WEEK
    for row in rows:
        if not start < row.hour <= end:
            continue
        week.runs += row.runs
        if row.status in FAILURE_STATUSES:
            week.failures += row.runs
        week.duration_count += row.duration_count
        week.duration_sum += row.duration_sum
        week.duration_max = max(week.duration_max, row.duration_max)
    if week.duration_count:
        week.average_duration = week.duration_sum / week.duration_count
    return week


def _job_week_refresh(job_id: int, *, hour: datetime) -> None:
    """Recompute the job's week up to its latest hour (this one or later)."""
    current = JobWeek.objects.select_for_update().filter(job_id=job_id).first()
    end = max(hour, current.last_hour) if current is not None else hour
    rows = JobMetricHour.objects.filter(
        job_id=job_id, hour__gt=end - WEEK, hour__lte=end
    )
    week = week_of(rows, job_id=job_id, end=end)
    week.save()


def _last_outcome_move(observation: Observation) -> None:
    """Make `observation` the job's last outcome unless a later slot ended."""
    current = (
        JobLastOutcome.objects.select_for_update()
        .filter(job_id=observation.job_id)
        .first()
    )
    if current is not None and (current.scheduled_for, current.attempt) > _slot_key(
        observation
    ):
        return
    JobLastOutcome.objects.update_or_create(
        job_id=observation.job_id,
        defaults={
            "run_id": observation.run_id,
            "status": observation.status,
            "scheduled_for": observation.scheduled_for,
            "attempt": observation.attempt,
            "finished_at": observation.ended_at,
        },
    )


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
