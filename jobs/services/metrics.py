"""Keep the metrics rollups: the "metrics" run-event consumer and a rebuild.

`metrics_consume` (a worker step) claims run events and, for each ended
run, adds it to three rollups in the transaction that acks the event
(README, "Extending the portal"): the all-jobs hour, the job's hour, the
all-time total per status; and it moves the job's last outcome forward.
A run is counted in the hour its event was written (when it ended).
Duration is finished minus started; lateness is started minus `not_before`
(the slot, or the retry's due time): both only for runs that started.

`jobs.services.metrics_rebuild` recomputes every rollup from the runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Model

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
from jobs.services import plain_sql
from jobs.services.events import (
    run_event_consumer_register,
    run_events_ack,
    run_events_claim,
)

logger = logging.getLogger(__name__)

CONSUMER = "metrics"
# Events handled per worker step at most.
CONSUME_BATCH = 200
# The slowest and most failing jobs look at this much of each job's history.
WEEK = timedelta(days=7)
# What counting changes in a rollup row, a last outcome and a week.
ROLLUP_FIELDS = (
    "runs",
    "duration_count",
    "duration_sum",
    "duration_max",
    "duration_buckets",
    "lateness_count",
    "lateness_sum",
    "lateness_buckets",
)
LAST_OUTCOME_FIELDS = ("run", "status", "scheduled_for", "attempt", "finished_at")
WEEK_FIELDS = (
    "last_hour",
    "runs",
    "failures",
    "duration_count",
    "duration_sum",
    "duration_max",
    "average_duration",
)
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
    _job_hours_add(job_hours)
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
    _last_outcomes_move(list(latest.values()))
    _job_weeks_refresh(newest_hour)
    return len(observations)


def _rollup_save(row: RollupFields, observations: Iterable[Observation]) -> None:
    _rollup_add_all(row, observations)
    row.save()


def _rollup_add_all(row: RollupFields, observations: Iterable[Observation]) -> None:
    for observation in observations:
        rollup_add(row, observation)


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


def _job_hours_add(groups: dict[tuple[int, datetime, str], list[Observation]]) -> None:
    """Add each group to its job's hourly row: three statements for all jobs.

    Missing rows are inserted empty first (a racing worker's insert wins,
    either way the row exists), then all are locked in key order, added
    to and written back. Per job, the row was read and written on its own:
    in a burst of runs of different jobs, a dozen statements per run.
    """
    if not groups:
        return
    JobMetricHour.objects.bulk_create(
        [JobMetricHour(job_id=j, hour=h, status=s) for j, h, s in sorted(groups)],
        ignore_conflicts=True,
    )
    rows = (
        JobMetricHour.objects.select_for_update()
        .filter(
            job_id__in={key[0] for key in groups},
            hour__in={key[1] for key in groups},
            status__in={key[2] for key in groups},
        )
        .order_by("pk")
    )
    changed = []
    for row in rows:
        group = groups.get((row.job_id, row.hour, row.status))
        if group is not None:
            _rollup_add_all(row, group)
            changed.append(row)
    _rows_update(changed, ROLLUP_FIELDS)


def _last_outcomes_move(observations: list[Observation]) -> None:
    """Make each observation its job's last outcome unless a later slot ended.

    One row per job: inserted as this outcome where there is none yet,
    else moved forward; a fixed number of statements for all jobs.
    """
    if not observations:
        return
    JobLastOutcome.objects.bulk_create(
        [_last_outcome(o) for o in sorted(observations, key=lambda o: o.job_id)],
        ignore_conflicts=True,
    )
    by_job = {o.job_id: o for o in observations}
    rows = JobLastOutcome.objects.select_for_update().filter(job_id__in=by_job)
    moved = []
    for row in rows.order_by("job_id"):
        observation = by_job[row.job_id]
        if (row.scheduled_for, row.attempt) > _slot_key(observation):
            continue
        moved.append(_last_outcome(observation))
    _rows_update(moved, LAST_OUTCOME_FIELDS)


def _last_outcome(observation: Observation) -> JobLastOutcome:
    return JobLastOutcome(
        job_id=observation.job_id,
        run_id=observation.run_id,
        status=observation.status,
        scheduled_for=observation.scheduled_for,
        attempt=observation.attempt,
        finished_at=observation.ended_at,
    )


def _job_weeks_refresh(hours: dict[int, datetime]) -> None:
    """Recompute each job's week up to its latest hour (this one or later).

    `hours` maps a job to the newest hour of its runs just counted. One
    read of the jobs' hourly rows serves them all.
    """
    if not hours:
        return
    JobWeek.objects.bulk_create(
        [JobWeek(job_id=job_id, last_hour=hours[job_id]) for job_id in sorted(hours)],
        ignore_conflicts=True,
    )
    current = JobWeek.objects.select_for_update().filter(job_id__in=hours)
    ends = {row.job_id: max(hours[row.job_id], row.last_hour) for row in current}
    rows: dict[int, list[JobMetricHour]] = {}
    window = JobMetricHour.objects.filter(
        job_id__in=ends,
        hour__gt=min(ends.values()) - WEEK,
        hour__lte=max(ends.values()),
    )
    for row in window:
        rows.setdefault(row.job_id, []).append(row)
    weeks = [
        week_of(rows.get(job_id, []), job_id=job_id, end=end)
        for job_id, end in sorted(ends.items())
    ]
    _rows_update(weeks, WEEK_FIELDS)


def _rows_update(rows: Sequence[Model], fields: Sequence[str]) -> None:
    """Write `fields` of each row back by primary key: one statement, run for all.

    Django's bulk_update builds a CASE expression per row and field: in a
    burst of runs it took a fifth of the worker's CPU (profile_burst.py).
    """
    if not rows:
        return
    model = type(rows[0])
    # By attname: a foreign key's id as it is, never its row read for it.
    columns = [model._meta.get_field(name).attname for name in fields]  # type: ignore[union-attr]
    updates = [
        plain_sql.Update(
            row.pk, {}, {column: getattr(row, column) for column in columns}
        )
        for row in rows
    ]
    plain_sql.update_each(model, updates)
