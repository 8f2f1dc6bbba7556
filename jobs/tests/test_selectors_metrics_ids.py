"""Metrics reads over jobs' ids read once equal those over the jobs' queryset."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from jobs import selectors_metrics as metrics
from jobs.models import Job
from jobs.services.metrics import metrics_consume
from jobs.services.runs import job_run_now
from jobs.tests.metrics_fixture import DAY, LOOK_AT, record_fixture

pytestmark = pytest.mark.django_db

SCOPES = ("alpha", "beta", "both", "none")


@pytest.fixture
def jobs(make_job: Callable[..., Job]) -> dict[str, Any]:
    """Return the fixture's scopes (querysets) with their runs counted."""
    alpha, beta = make_job("alpha"), make_job("beta")
    make_job("gamma")
    record_fixture(alpha, beta)
    metrics_consume(now=LOOK_AT)
    return {
        "alpha": Job.objects.filter(pk=alpha.pk),
        "beta": Job.objects.filter(pk=beta.pk),
        "both": Job.objects.filter(name__in=["alpha", "beta", "gamma"]),
        "none": Job.objects.none(),
    }


def _figures(jobs: metrics.Jobs) -> dict[str, Any]:
    week = LOOK_AT - timedelta(days=6, hours=23)
    return {
        "window": metrics.window_stats(jobs=jobs, since=DAY, until=LOOK_AT),
        "counts": metrics.window_counts(jobs=jobs, since=week, until=LOOK_AT),
        "hours": metrics.hourly_stats(jobs=jobs, since=DAY, until=LOOK_AT),
        "last": metrics.jobs_by_last_status(jobs),
        "live": metrics.live_state(jobs=jobs, now=LOOK_AT, lost_after_seconds=60),
        "failures": metrics.recent_failures(jobs=jobs, since=DAY),
        "slowest": metrics.slowest_jobs(jobs=jobs, since=week),
        "failing": metrics.failing_jobs(jobs=jobs, since=week),
    }


@pytest.mark.parametrize("is_large_share", [False, True])
@pytest.mark.parametrize("scope", SCOPES)
def test_ids_read_once_give_the_querysets_figures(
    jobs: dict[str, Any], scope: str, is_large_share: bool
) -> None:
    """Every selector answers the same for a queryset and its ids, either way."""
    ids = tuple(jobs[scope].values_list("pk", flat=True))
    chosen = metrics.JobIds(ids, is_large_share=is_large_share)
    assert _figures(chosen) == _figures(jobs[scope])


@pytest.mark.parametrize(("scope", "expected"), [("alpha", True), ("none", False)])
def test_a_quarter_of_the_jobs_is_a_large_share(
    jobs: dict[str, Any], scope: str, expected: bool
) -> None:
    """1 of 3 jobs is at least a quarter; no job is never a large share."""
    ids = metrics.job_ids_of(jobs[scope])
    assert ids is not None
    assert ids.is_large_share is expected


def test_a_few_jobs_of_many_are_no_large_share(
    jobs: dict[str, Any], make_job: Callable[..., Job]
) -> None:
    """1 of 5 jobs is under a quarter: its rollups are looked up by job."""
    make_job("delta")
    make_job("epsilon")
    ids = metrics.job_ids_of(jobs["alpha"])
    assert ids is not None
    assert ids.is_large_share is False


def test_ids_are_read_once(
    jobs: dict[str, Any], django_assert_num_queries: Callable[..., Any]
) -> None:
    """The ids and all jobs' count are two queries; the last statuses one."""
    with django_assert_num_queries(2):
        ids = metrics.job_ids_of(jobs["both"])
    assert ids is not None
    assert sorted(ids.ids) == sorted(jobs["both"].values_list("pk", flat=True))
    with django_assert_num_queries(1):
        last = metrics.jobs_by_last_status(ids)
    assert last == {"failed": 1, "skipped": 1, metrics.NEVER: 1}


def test_all_jobs_stay_none(jobs: dict[str, Any]) -> None:
    """None (every job) stays None: the all-jobs rollups answer."""
    assert metrics.job_ids_of(None) is None


def test_a_queued_run_counts_for_its_jobs_ids(jobs: dict[str, Any]) -> None:
    """A run of alpha due now is queued for alpha's ids, not beta's."""
    job_run_now(job=jobs["alpha"].get(), requested_by=None, now=LOOK_AT)
    alpha_ids = metrics.job_ids_of(jobs["alpha"])
    beta_ids = metrics.job_ids_of(jobs["beta"])
    live = metrics.live_state(jobs=alpha_ids, now=LOOK_AT, lost_after_seconds=60)
    assert live.queued == 1
    live = metrics.live_state(jobs=beta_ids, now=LOOK_AT, lost_after_seconds=60)
    assert live.queued == 0
