"""`/metrics`: Prometheus text parsed with the client's parser; access rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families

from jobportal.tests.clocks import FrozenClock
from jobs.models import Job
from jobs.prometheus import (
    MSG_ADDRESS,
    MSG_BEARER_REQUIRED,
    metrics_source_register,
    metrics_source_unregister,
)
from jobs.services.metrics import metrics_consume
from jobs.tests.factories import WorkerFactory
from jobs.tests.metrics_fixture import LOOK_AT, record_fixture

pytestmark = pytest.mark.django_db

TOKEN = "a-long-enough-metrics-token"


@pytest.fixture
def jobs(make_job: Callable[..., Job], frozen_clock: FrozenClock) -> tuple[Job, Job]:
    """The fixture's jobs with their runs counted; the clock at LOOK_AT."""
    alpha, beta = make_job("alpha"), make_job("beta")
    record_fixture(alpha, beta)
    metrics_consume(now=LOOK_AT)
    frozen_clock.set(LOOK_AT)
    return alpha, beta


def scrape(client: Client, **extra: Any) -> dict[str, Metric]:
    """GET /metrics and parse it into families by name."""
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    text = response.content.decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family: Metric) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Return {(sample name, sorted labels): value}."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}


def test_runs_by_status_and_histograms(client: Client, jobs: tuple[Job, Job]) -> None:
    """The all-time counters and the lateness buckets match the table."""
    families = scrape(client)
    runs = samples(families["jobportal_runs"])
    assert runs[("jobportal_runs_total", (("status", "succeeded"),))] == 2
    assert runs[("jobportal_runs_total", (("status", "timed_out"),))] == 1
    lateness = samples(families["jobportal_run_lateness_seconds"])
    assert lateness[("jobportal_run_lateness_seconds_bucket", (("le", "0.5"),))] == 1
    assert lateness[("jobportal_run_lateness_seconds_bucket", (("le", "5.0"),))] == 3
    assert lateness[("jobportal_run_lateness_seconds_bucket", (("le", "+Inf"),))] == 4
    assert lateness[("jobportal_run_lateness_seconds_sum", ())] == 16.5
    duration = samples(families["jobportal_run_duration_seconds"])
    assert duration[("jobportal_run_duration_seconds_count", ())] == 4
    assert duration[("jobportal_run_duration_seconds_sum", ())] == 3690.0


def test_live_gauges(client: Client, jobs: tuple[Job, Job]) -> None:
    """No queue, no run, one live worker whose last cycle was 30 s ago."""
    WorkerFactory.create(
        name="w1",
        last_heartbeat_at=LOOK_AT,
        last_cycle_at=LOOK_AT - timedelta(seconds=30),
    )
    families = scrape(client)
    values = {
        name: families[name].samples[0].value
        for name in (
            "jobportal_queue_depth",
            "jobportal_runs_running",
            "jobportal_workers_alive",
            "jobportal_last_cycle_age_seconds",
        )
    }
    assert values == {
        "jobportal_queue_depth": 0,
        "jobportal_runs_running": 0,
        "jobportal_workers_alive": 1,
        "jobportal_last_cycle_age_seconds": 30.0,
    }
    jobs_family = samples(families["jobportal_jobs"])
    assert jobs_family[("jobportal_jobs", (("last_status", "failed"),))] == 1


def test_per_job_series_only_when_opted_in(
    client: Client, jobs: tuple[Job, Job], settings: Any
) -> None:
    """No job label by default; JOB_PORTAL_METRICS_PER_JOB adds them."""
    assert "jobportal_job_runs" not in scrape(client)
    settings.JOB_PORTAL_METRICS_PER_JOB = True
    per_job = samples(scrape(client)["jobportal_job_runs"])
    assert (
        per_job[
            ("jobportal_job_runs_total", (("job", "alpha"), ("status", "succeeded")))
        ]
        == 2
    )


def test_cost_does_not_grow_with_jobs(
    client: Client, jobs: tuple[Job, Job], make_job: Callable[..., Job]
) -> None:
    """The same number of queries with 2 jobs or 22."""
    with CaptureQueriesContext(connection) as few:
        scrape(client)
    for n in range(20):
        make_job(f"more-{n}")
    with CaptureQueriesContext(connection) as many:
        scrape(client)
    assert len(many) == len(few)


def test_a_registered_source_adds_its_families(
    client: Client, jobs: tuple[Job, Job]
) -> None:
    """The hook other apps (notifications) use."""

    def notifications() -> Iterable[Metric]:
        family = CounterMetricFamily(
            "jobportal_notifications", "Sent.", labels=["outcome"]
        )
        family.add_metric(["sent"], 3.0)
        yield family

    metrics_source_register(notifications)
    try:
        family = scrape(client)["jobportal_notifications"]
    finally:
        metrics_source_unregister(notifications)
    assert family.samples[0].value == 3.0


@pytest.fixture
def token(settings: Any) -> str:
    """Require the bearer token."""
    settings.JOB_PORTAL_METRICS_TOKEN = TOKEN
    return TOKEN


def test_the_token_is_required_when_set(
    client: Client, jobs: tuple[Job, Job], token: str
) -> None:
    """No or a wrong token: 401 saying how; the right one: 200 from anywhere."""
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing.content.decode() == MSG_BEARER_REQUIRED + "\n"
    assert missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401
    scrape(client, HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR="10.9.9.9")


def test_allowed_addresses(
    client: Client, jobs: tuple[Job, Job], settings: Any
) -> None:
    """Only the listed networks; others get 403."""
    settings.JOB_PORTAL_METRICS_ALLOWED_IPS = ["10.0.0.0/24"]
    scrape(client, REMOTE_ADDR="10.0.0.7")
    refused = client.get("/metrics", REMOTE_ADDR="10.0.1.7")
    assert refused.status_code == 403
    assert refused.content.decode() == MSG_ADDRESS + "\n"


def test_with_nothing_set_only_loopback_is_answered(
    client: Client, jobs: tuple[Job, Job]
) -> None:
    """The safe default: 127.0.0.1 yes, another address no."""
    scrape(client, REMOTE_ADDR="127.0.0.1")
    assert client.get("/metrics", REMOTE_ADDR="192.168.1.5").status_code == 403


def test_token_and_addresses_both_apply(
    client: Client, jobs: tuple[Job, Job], token: str, settings: Any
) -> None:
    """Both set: the right token from a wrong address is still refused."""
    settings.JOB_PORTAL_METRICS_ALLOWED_IPS = ["10.0.0.0/24"]
    response = client.get(
        "/metrics", HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR="10.0.1.7"
    )
    assert response.status_code == 403
