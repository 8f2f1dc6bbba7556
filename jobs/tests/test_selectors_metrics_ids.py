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


@pytest.mark.parametrize("scope", SCOPES)
def test_ids_read_once_give_the_querysets_figures(
    jobs: dict[str, Any], scope: str
) -> None:
    """Every selector answers the same for a queryset and its ids."""
    ids = metrics.job_ids_of(jobs[scope])
    assert isinstance(ids, metrics.JobIds)
    assert _figures(ids) == _figures(jobs[scope])


def test_ids_are_read_once(
    jobs: dict[str, Any], django_assert_num_queries: Callable[..., Any]
) -> None:
    """The ids are one query; the last statuses over them one more, no count."""
    with django_assert_num_queries(1):
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
