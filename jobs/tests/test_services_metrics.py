"""The metrics consumer and rebuild: rollups against a hand-computed fixture."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from jobs import histograms
from jobs.management.commands.rebuildmetrics import MSG_DONE
from jobs.models import (
    Job,
    JobLastOutcome,
    JobMetricHour,
    JobRun,
    JobWeek,
    MetricHour,
    MetricTotal,
    RunEvent,
)
from jobs.services import metrics as metrics_service
from jobs.services import metrics_rebuild as metrics_rebuild_module
from jobs.services.events import run_events_ack
from jobs.services.metrics import CONSUMER, metrics_consume
from jobs.services.metrics_rebuild import metrics_rebuild
from jobs.services.runs import job_run_now, run_request_cancel
from jobs.tests.conftest import FakeClock
from jobs.tests.metrics_fixture import DAY, LOOK_AT, end_run, record_fixture
from jobs.worker import WorkerLoop
from jobs.worker.loop import HOUSEKEEPING_GUARD_SECONDS, METRICS_SECONDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs(make_job: Callable[..., Job]) -> tuple[Job, Job]:
    """Return the fixture's two jobs, their runs recorded (not yet counted)."""
    alpha, beta = make_job("alpha"), make_job("beta")
    record_fixture(alpha, beta)
    return alpha, beta


def hour_rows() -> dict[tuple[int, str], tuple[int, int, float, float, int, float]]:
    """Return the all-jobs rollup as {(hour, status): figures}."""
    return {
        (row.hour.hour, row.status): (
            row.runs,
            row.duration_count,
            row.duration_sum,
            row.duration_max,
            row.lateness_count,
            row.lateness_sum,
        )
        for row in MetricHour.objects.all()
    }


EXPECTED_HOURS = {
    (8, "succeeded"): (2, 2, 30.0, 20.0, 2, 4.0),
    (8, "failed"): (1, 1, 60.0, 60.0, 1, 0.5),
    (9, "skipped"): (1, 0, 0.0, 0.0, 0, 0.0),
    (10, "timed_out"): (1, 1, 3600.0, 3600.0, 1, 12.0),
}


def test_consuming_counts_each_ended_run_in_its_hour(jobs: tuple[Job, Job]) -> None:
    """Counts, sums and maxima per hour and status match the table."""
    assert metrics_consume(now=LOOK_AT) == 5
    assert hour_rows() == EXPECTED_HOURS


def test_histograms_hold_each_duration_and_lateness_in_its_bucket(
    jobs: tuple[Job, Job],
) -> None:
    """10 s and 20 s go to (5, 15] and (15, 30]; 1 s and 3 s to (0.5, 1], (2, 5]."""
    metrics_consume(now=LOOK_AT)
    row = MetricHour.objects.get(hour=DAY.replace(hour=8), status="succeeded")
    durations = histograms.empty(histograms.DURATION_BOUNDS)
    durations[2] = durations[3] = 1
    lateness = histograms.empty(histograms.LATENESS_BOUNDS)
    lateness[2] = lateness[4] = 1
    assert row.duration_buckets == durations
    assert row.lateness_buckets == lateness


def test_consuming_twice_counts_nothing_twice(jobs: tuple[Job, Job]) -> None:
    """An acked event never comes back to the consumer."""
    metrics_consume(now=LOOK_AT)
    assert metrics_consume(now=LOOK_AT) == 0
    assert MetricTotal.objects.get(status="succeeded").runs == 2


def test_per_job_rollups_and_totals_add_up(jobs: tuple[Job, Job]) -> None:
    """alpha has 3 runs in hour 8, beta 2; the totals hold every status."""
    alpha, beta = jobs
    metrics_consume(now=LOOK_AT)
    per_job = {
        (row.job_id, row.status): row.runs for row in JobMetricHour.objects.all()
    }
    assert per_job == {
        (alpha.pk, "succeeded"): 2,
        (alpha.pk, "failed"): 1,
        (beta.pk, "skipped"): 1,
        (beta.pk, "timed_out"): 1,
    }
    assert dict(MetricTotal.objects.values_list("status", "runs")) == {
        "succeeded": 2,
        "failed": 1,
        "skipped": 1,
        "timed_out": 1,
    }


def test_last_outcome_is_the_latest_slot_not_the_latest_end(
    jobs: tuple[Job, Job],
) -> None:
    """beta's 09:30 slot was skipped after its 09:00 run began: skipped is last."""
    alpha, beta = jobs
    metrics_consume(now=LOOK_AT)
    outcomes = dict(JobLastOutcome.objects.values_list("job_id", "status"))
    assert outcomes == {alpha.pk: "failed", beta.pk: "skipped"}


def test_an_earlier_slot_ending_later_does_not_move_the_last_outcome(
    make_job: Callable[..., Job],
) -> None:
    """A retry of an older slot that ends late leaves the newer slot's outcome."""
    job = make_job("gamma")
    end_run(job, slot=DAY, status="succeeded", lateness=0, duration=1)
    metrics_consume(now=LOOK_AT)
    end_run(
        job,
        slot=DAY - timedelta(hours=1),
        status="failed",
        lateness=0,
        duration=1,
        attempt=2,
    )
    metrics_consume(now=LOOK_AT)
    assert JobLastOutcome.objects.get(job=job).status == "succeeded"


def test_retry_events_are_acked_without_counting(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """A cancelled run counts once; nothing else is written for other kinds."""
    job = make_job("delta")
    run = job_run_now(job=job, requested_by=None, now=now)
    run_request_cancel(run=run, requested_by=None, now=now)
    assert metrics_consume(now=now) == 1
    assert MetricTotal.objects.get(status=JobRun.Status.CANCELLED).runs == 1


def test_rebuild_gives_what_consuming_gave(jobs: tuple[Job, Job]) -> None:
    """Rebuilding from the runs reproduces the consumer's rollups exactly."""
    metrics_consume(now=LOOK_AT)
    consumed = hour_rows()
    assert metrics_rebuild(now=LOOK_AT) == 5
    assert hour_rows() == consumed == EXPECTED_HOURS


def test_rebuild_acks_pending_events_so_nothing_counts_twice(
    jobs: tuple[Job, Job],
) -> None:
    """Events not yet consumed are in the rebuild; consuming then adds nothing."""
    metrics_rebuild(now=LOOK_AT)
    assert metrics_consume(now=LOOK_AT) == 0
    assert hour_rows() == EXPECTED_HOURS
    assert CONSUMER == "metrics"


def test_the_worker_counts_metrics_every_few_seconds(
    jobs: tuple[Job, Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """The step counts pending events, then waits METRICS_SECONDS to look again."""
    assert loop.count_metrics() == 5
    alpha, _ = jobs
    end_run(
        alpha, slot=DAY.replace(hour=11), status="succeeded", lateness=0, duration=1
    )
    assert loop.count_metrics() == 0
    clock.advance(METRICS_SECONDS)
    assert loop.count_metrics() == 1


def test_the_workers_metrics_step_with_nothing_to_count_is_one_read(
    jobs: tuple[Job, Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """An idle worker steps every few seconds: no slot guard when nothing waits."""
    assert loop.count_metrics() == 5
    clock.advance(METRICS_SECONDS)
    with CaptureQueriesContext(connection) as queries:
        assert loop.count_metrics() == 0
    assert len(queries) == 1


def test_the_worker_counts_no_metrics_while_a_slot_is_about_to_fire(
    jobs: tuple[Job, Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """A slot due within the guard goes first; the count follows right after."""
    alpha, _ = jobs
    soon = clock() + timedelta(seconds=HOUSEKEEPING_GUARD_SECONDS / 2)
    Job.objects.filter(pk=alpha.pk).update(next_run_at=soon)
    assert loop.count_metrics() == 0
    clock.advance(HOUSEKEEPING_GUARD_SECONDS * 2)
    assert loop.count_metrics() == 5


def test_the_worker_counts_no_metrics_while_a_run_just_due_waits_for_its_claim(
    jobs: tuple[Job, Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """A run that fell due after the cycle's claim goes first; a backlog does not."""
    alpha, _ = jobs
    job_run_now(job=alpha, requested_by=None, now=clock())
    clock.advance(HOUSEKEEPING_GUARD_SECONDS / 2)
    assert loop.count_metrics() == 0
    clock.advance(HOUSEKEEPING_GUARD_SECONDS)
    assert loop.count_metrics() == 5


def test_rebuildmetrics_command_reports_the_count(jobs: tuple[Job, Job]) -> None:
    """The command wraps the rebuild and prints how many runs it counted."""
    out = io.StringIO()
    call_command("rebuildmetrics", stdout=out)
    assert out.getvalue() == MSG_DONE.format(count=5) + "\n"
    assert hour_rows() == EXPECTED_HOURS


def test_rebuild_in_small_chunks_gives_the_same_rows(
    jobs: tuple[Job, Job], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paging 2 runs at a time and writing after each job changes nothing."""
    monkeypatch.setattr(metrics_rebuild_module, "REBUILD_CHUNK", 2)
    monkeypatch.setattr(metrics_rebuild_module, "FLUSH_ROWS", 1)
    assert metrics_rebuild(now=LOOK_AT) == 5
    assert hour_rows() == EXPECTED_HOURS
    assert JobMetricHour.objects.count() == 4


def week_figures() -> dict[int, tuple[int, int, float | None, float]]:
    """Return each job's week as (runs, failures, average, longest)."""
    return {
        week.job_id: (
            week.runs,
            week.failures,
            week.average_duration,
            week.duration_max,
        )
        for week in JobWeek.objects.all()
    }


def test_each_job_keeps_its_week_and_the_rebuild_agrees(
    jobs: tuple[Job, Job],
) -> None:
    """alpha: 3 runs, 1 failed, 30 s average; beta: 2 runs, 1 failed, 3600 s."""
    alpha, beta = jobs
    metrics_consume(now=LOOK_AT)
    expected = {alpha.pk: (3, 1, 30.0, 60.0), beta.pk: (2, 1, 3600.0, 3600.0)}
    assert week_figures() == expected
    metrics_rebuild(now=LOOK_AT)
    assert week_figures() == expected


def test_a_week_forgets_runs_older_than_seven_days(
    make_job: Callable[..., Job],
) -> None:
    """A failure 8 days before the latest run is out of the job's week."""
    job = make_job("epsilon")
    end_run(job, slot=DAY - timedelta(days=8), status="failed", lateness=0, duration=5)
    end_run(job, slot=DAY, status="succeeded", lateness=0, duration=1)
    metrics_consume(now=LOOK_AT)
    assert week_figures()[job.pk] == (1, 0, 1.0, 1.0)


def _end_failures(job: Job, count: int, *, first: int = 0) -> None:
    for n in range(first, first + count):
        end_run(
            job,
            slot=DAY.replace(hour=8) + timedelta(seconds=n),
            status=JobRun.Status.FAILED,
            lateness=1.0,
            duration=2.0,
        )


def test_a_batch_writes_each_rollup_row_once_however_many_runs_it_holds(
    make_job: Callable[..., Job],
) -> None:
    """Counting 40 runs of a job takes as many statements as counting 2."""
    job = make_job("storm")
    _end_failures(job, 1)
    metrics_consume(now=LOOK_AT)  # creates the rows
    _end_failures(job, 2, first=1)
    with CaptureQueriesContext(connection) as few:
        assert metrics_consume(now=LOOK_AT) == 2
    _end_failures(job, 40, first=3)
    with CaptureQueriesContext(connection) as many:
        assert metrics_consume(now=LOOK_AT) == 40
    assert len(many) == len(few)
    row = JobMetricHour.objects.get(job=job, status=JobRun.Status.FAILED)
    assert (row.runs, row.duration_sum, row.lateness_sum) == (43, 86.0, 43.0)


def test_a_batch_of_many_jobs_costs_the_statements_of_a_few(
    make_job: Callable[..., Job],
) -> None:
    """A burst ends runs of many jobs: per-job rows are written in bulk.

    Each job's hour, last outcome and week were read and written one job
    at a time (a dozen statements per run, the worker's largest CPU cost
    per run in bench/profile_burst.py).
    """
    slot = DAY.replace(hour=8)

    def end_runs_of(count: int, prefix: str) -> list[Job]:
        made = [make_job(f"{prefix}-{n}") for n in range(count)]
        for job in made:
            end_run(job, slot=slot, status="succeeded", lateness=1.0, duration=2.0)
        return made

    end_runs_of(1, "warm-up")
    metrics_consume(now=LOOK_AT)  # creates the all-jobs rows
    end_runs_of(2, "first")
    with CaptureQueriesContext(connection) as few:
        assert metrics_consume(now=LOOK_AT) == 2
    many_jobs = end_runs_of(30, "many")
    with CaptureQueriesContext(connection) as many:
        assert metrics_consume(now=LOOK_AT) == 30
    assert len(many) == len(few)
    ids = [job.pk for job in many_jobs]
    assert JobMetricHour.objects.filter(job_id__in=ids, runs=1).count() == 30
    assert (
        JobLastOutcome.objects.filter(job_id__in=ids, status="succeeded").count() == 30
    )
    assert JobWeek.objects.filter(job_id__in=ids, runs=1, failures=0).count() == 30


def test_events_another_worker_acked_meanwhile_are_not_counted_again(
    jobs: tuple[Job, Job], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the events whose own ack counts are added when a batch is shared."""
    real_claim = metrics_service.run_events_claim

    def claim_then_lose_one(**kwargs: Any) -> list[RunEvent]:
        claimed = real_claim(**kwargs)
        # Another worker, whose claim had expired, acks the first one.
        run_events_ack(consumer=CONSUMER, event_ids=[claimed[0].pk], now=LOOK_AT)
        return claimed

    monkeypatch.setattr(metrics_service, "run_events_claim", claim_then_lose_one)
    assert metrics_consume(now=LOOK_AT) == 4
    assert MetricTotal.objects.aggregate(Sum("runs"))["runs__sum"] == 4
