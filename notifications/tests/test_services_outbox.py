"""Run events become outbox rows with the consumer's ack, exactly once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from jobs.models import Job, JobRun
from jobs.services.events import run_events_claim
from jobs.tests.factories import JobFactory
from notifications.models import Channel, JobState, Notification
from notifications.services.outbox import (
    CONSUMER,
    notification_render,
    notifications_consume,
)

pytestmark = pytest.mark.django_db

URL = {"url": "http://127.0.0.1:9/hook"}


def test_a_failure_queues_one_notification_rendered_with_the_run(
    end_run: Callable[..., JobRun], make_channel: Callable[..., Channel], now: datetime
) -> None:
    """The row carries the rendered subject, body and the facts."""
    channel = make_channel(secrets=URL)
    run = end_run("failed", output="line 1\nTraceback: boom\n")
    assert notifications_consume(now=now) == 1
    row = Notification.objects.get()
    assert (row.channel, row.run, row.event, row.status) == (
        channel,
        run,
        "failure",
        "pending",
    )
    subject, body = notification_render(row)
    assert subject == "[Failed] nightly-report"
    assert f"Run {run.pk} (attempt 1) ended failed: Exit code 2." in body
    assert "Traceback: boom" in body
    assert row.facts["exit_code"] == 2
    assert row.facts["duration_seconds"] == 2.0
    assert row.facts["admin_url"].endswith(f"/admin/jobs/jobrun/{run.pk}/change/")


def test_fifty_more_failures_queue_nothing_until_recovery(
    end_run: Callable[..., JobRun],
    make_channel: Callable[..., Channel],
    now: datetime,
    job: Job,
) -> None:
    """State change: one failure, then silence, then one recovery."""
    make_channel(secrets=URL)
    for _ in range(51):
        end_run("failed")
    notifications_consume(now=now, limit=100)
    assert JobState.objects.get(job=job).failing_streak == 51
    end_run("succeeded")
    notifications_consume(now=now)
    events = list(Notification.objects.order_by("pk").values_list("event", flat=True))
    assert events == ["failure", "recovered"]


def test_a_muted_job_queues_nothing_but_keeps_its_streak(
    end_run: Callable[..., JobRun],
    make_channel: Callable[..., Channel],
    now: datetime,
    job: Job,
) -> None:
    """Mute until a time: events still count, no message is queued."""
    make_channel(secrets=URL)
    JobState.objects.create(job=job, muted_until=now + timedelta(hours=1))
    end_run("failed")
    notifications_consume(now=now)
    assert Notification.objects.count() == 0
    assert JobState.objects.get(job=job).failing_streak == 1


def test_an_event_handled_by_another_process_is_not_queued_twice(
    end_run: Callable[..., JobRun], make_channel: Callable[..., Channel], now: datetime
) -> None:
    """A claim whose lease passed is handled once: the ack decides."""
    make_channel(secrets=URL)
    end_run("failed")
    # A process claims the event and dies before acking.
    assert len(run_events_claim(consumer=CONSUMER, limit=10, now=now)) == 1
    assert notifications_consume(now=now) == 0
    later = now + timedelta(minutes=10)
    assert notifications_consume(now=later) == 1
    assert notifications_consume(now=later + timedelta(minutes=10)) == 0
    assert Notification.objects.count() == 1


def test_rules_of_other_jobs_and_inactive_channels_do_not_fire(
    end_run: Callable[..., JobRun],
    make_channel: Callable[..., Channel],
    now: datetime,
    scripts_dir: object,
) -> None:
    """A job's rule is for that job only; an inactive channel gets nothing."""
    other = JobFactory.create(name="other")
    make_channel(secrets=URL, job=other)
    make_channel(secrets=URL, name="off", is_active=False)
    end_run("failed")
    notifications_consume(now=now)
    assert Notification.objects.count() == 0
