"""The circuit breaker: off by default, pauses after N failures, resumes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from accounts.models import AuditEvent
from jobs.models import Job, JobRun
from notifications.models import Channel, JobState, Notification
from notifications.services.circuit import job_circuit_resume
from notifications.services.outbox import notifications_consume

pytestmark = pytest.mark.django_db

URL = {"url": "http://127.0.0.1:9/hook"}


def fail(end_run: Callable[..., JobRun], now: datetime, times: int) -> None:
    for _ in range(times):
        end_run("failed")
    notifications_consume(now=now)


def test_off_by_default_a_job_keeps_failing_and_stays_active(
    end_run: Callable[..., JobRun], job: Job, now: datetime
) -> None:
    """Without a threshold nothing is paused."""
    fail(end_run, now, 10)
    job.refresh_from_db()
    assert job.is_active is True


def test_the_global_default_pauses_the_job_audits_and_notifies(
    end_run: Callable[..., JobRun],
    make_channel: Callable[..., Channel],
    job: Job,
    now: datetime,
    settings: Any,
) -> None:
    """At N failures in a row: deactivated, audited with the code, notified."""
    settings.JOB_PORTAL_CIRCUIT_BREAKER_AFTER = 3
    make_channel(secrets=URL)
    fail(end_run, now, 2)
    job.refresh_from_db()
    assert job.is_active is True
    fail(end_run, now, 1)
    job.refresh_from_db()
    assert job.is_active is False
    event = AuditEvent.objects.get(action="circuit_open")
    assert (event.target_id, event.changes["reason_code"]) == (
        str(job.pk),
        [None, "circuit_open"],
    )
    events = list(Notification.objects.order_by("pk").values_list("event", flat=True))
    assert events == ["failure", "circuit_open"]


def test_a_job_may_turn_the_breaker_off_and_resume_resets_it(
    end_run: Callable[..., JobRun], job: Job, now: datetime, settings: Any
) -> None:
    """A per-job 0 wins over the default; resume activates and resets."""
    settings.JOB_PORTAL_CIRCUIT_BREAKER_AFTER = 2
    JobState.objects.create(job=job, circuit_breaker_after=0)
    fail(end_run, now, 3)
    job.refresh_from_db()
    assert job.is_active is True
    JobState.objects.filter(pk=job.pk).update(circuit_breaker_after=4)
    fail(end_run, now, 1)
    job.refresh_from_db()
    assert job.is_active is False
    job_circuit_resume(job=job, now=now)
    job.refresh_from_db()
    state = JobState.objects.get(pk=job.pk)
    assert (job.is_active, state.failing_streak, state.circuit_opened_at) == (
        True,
        0,
        None,
    )
    assert AuditEvent.objects.filter(action="circuit_resume").count() == 1
