"""Metrics reads: the hand-computed fixture through the rollups."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from jobs import selectors_metrics as metrics
from jobs.models import Job, JobRun
from jobs.permissions import metrics_job_scope
from jobs.services.grants import job_rights_set
from jobs.services.metrics import metrics_consume
from jobs.services.runs import job_run_now
from jobs.tests.factories import WorkerFactory
from jobs.tests.metrics_fixture import DAY, LOOK_AT, record_fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs(make_job: Callable[..., Job]) -> tuple[Job, Job]:
    """Return the fixture's jobs with their runs counted."""
    alpha, beta = make_job("alpha"), make_job("beta")
    record_fixture(alpha, beta)
    metrics_consume(now=LOOK_AT)
    return alpha, beta


def test_window_over_all_jobs_matches_the_table(jobs: tuple[Job, Job]) -> None:
    """5 runs, 2 failures, 50 % success; lateness p50 1 s, p95 26 s, p99 29.2 s."""
    stats = metrics.window_stats(
        jobs=None, since=LOOK_AT - timedelta(hours=23), until=LOOK_AT
    )
    assert stats.runs == 5
    assert stats.failures == 2
    assert stats.success_rate == 0.5
    assert stats.duration_sum == 3690.0
    assert stats.lateness_quantiles() == pytest.approx(
        {"p50": 1.0, "p95": 26.0, "p99": 29.2}
    )


def test_a_window_starts_at_its_first_hour(jobs: tuple[Job, Job]) -> None:
    """From 09:59 the 08:00 hour is out: only beta's two runs remain."""
    stats = metrics.window_stats(
        jobs=None, since=DAY.replace(hour=9, minute=59), until=LOOK_AT
    )
    assert stats.runs_by_status == {"skipped": 1, "timed_out": 1}
    assert stats.success_rate == 0.0


def test_a_job_scope_reads_only_those_jobs(jobs: tuple[Job, Job]) -> None:
    """alpha alone: 3 runs, 2 of 3 succeeded."""
    alpha, _ = jobs
    stats = metrics.window_stats(
        jobs=Job.objects.filter(pk=alpha.pk), since=DAY, until=LOOK_AT
    )
    assert stats.runs == 3
    assert stats.success_rate == pytest.approx(2 / 3)


def test_jobs_by_last_status_counts_never_run_jobs(
    jobs: tuple[Job, Job], make_job: Callable[..., Job]
) -> None:
    """alpha failed last, beta skipped last, gamma never ran."""
    make_job("gamma")
    assert metrics.jobs_by_last_status(None) == {
        "failed": 1,
        "skipped": 1,
        metrics.NEVER: 1,
    }


def test_hourly_outcomes_has_one_entry_per_hour(jobs: tuple[Job, Job]) -> None:
    """08:00: 2 ok 1 failed; 09:00: nothing rated; 10:00: 1 failed."""
    hours = metrics.hourly_outcomes(
        jobs=None, since=DAY.replace(hour=8), until=DAY.replace(hour=11)
    )
    assert [(h.hour, ok, bad) for h, ok, bad in hours] == [
        (8, 2, 1),
        (9, 0, 0),
        (10, 0, 1),
    ]


def test_slowest_and_failing_jobs(jobs: tuple[Job, Job]) -> None:
    """beta averages 3600 s (1 timed out), alpha 30 s (1 failed)."""
    alpha, beta = jobs
    slowest = metrics.slowest_jobs(jobs=None, since=DAY)
    assert [(f.name, f.average_duration_seconds) for f in slowest] == [
        ("beta", 3600.0),
        ("alpha", 30.0),
    ]
    failing = metrics.failing_jobs(jobs=None, since=DAY)
    assert [(f.job_id, f.failures, f.runs) for f in failing] == [
        (alpha.pk, 1, 3),
        (beta.pk, 1, 2),
    ]


def test_daily_trends_per_job(jobs: tuple[Job, Job]) -> None:
    """alpha's day: 30 s average, 2/3 succeeded; the day before has no runs."""
    alpha, _ = jobs
    days = metrics.last_days(LOOK_AT, "UTC", 2)
    trend = metrics.job_daily_trends(job_ids=[alpha.pk], days=days, zone="UTC")
    assert trend[alpha.pk] == [
        metrics.DayPoint(
            day="2026-02-28", average_duration_seconds=None, success_rate=None
        ),
        metrics.DayPoint(
            day="2026-03-01", average_duration_seconds=30.0, success_rate=2 / 3
        ),
    ]


def test_live_state_counts_due_queued_runs_and_live_workers(
    make_job: Callable[..., Job],
) -> None:
    """A queued run due 90 s ago is the oldest; a future retry is not queued."""
    job = make_job("queue")
    job_run_now(job=job, requested_by=None, now=LOOK_AT - timedelta(seconds=90))
    later = job_run_now(job=job, requested_by=None, now=LOOK_AT)
    JobRun.objects.filter(pk=later.pk).update(not_before=LOOK_AT + timedelta(minutes=5))
    WorkerFactory.create(name="w1", last_heartbeat_at=LOOK_AT - timedelta(seconds=5))
    WorkerFactory.create(name="w2", last_heartbeat_at=LOOK_AT - timedelta(hours=1))
    live = metrics.live_state(jobs=None, now=LOOK_AT, lost_after_seconds=60)
    assert (live.queued, live.running) == (1, 0)
    assert live.oldest_queued_at == LOOK_AT - timedelta(seconds=90)
    assert live.workers_alive == 1
    assert [w["heartbeat_age_seconds"] for w in live.workers] == [5.0, 3600.0]


def test_recent_failures_newest_first(jobs: tuple[Job, Job]) -> None:
    """beta's timeout (10:00) before alpha's failure (08:21)."""
    runs = metrics.recent_failures(jobs=None, since=DAY)
    assert [(r.job.name, r.status) for r in runs] == [
        ("beta", "timed_out"),
        ("alpha", "failed"),
    ]


def test_scope_is_none_for_roles_and_the_granted_jobs_otherwise(
    jobs: tuple[Job, Job], make_user: Callable[..., User], now: object
) -> None:
    """A Viewer sees every job; a user granted alpha sees alpha only."""
    alpha, _ = jobs
    admin = make_user("boss", "Admin")
    guest = make_user("guest")
    job_rights_set(job=alpha, grantee=guest, rights=["view_job"], actor=admin, now=DAY)
    assert metrics_job_scope(make_user("viewer", "Viewer")) is None
    scope = metrics_job_scope(User.objects.get(pk=guest.pk))
    assert scope is not None
    assert list(scope.values_list("name", flat=True)) == ["alpha"]
