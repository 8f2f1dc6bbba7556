"""Delivery from the outbox: leases after a crash, rate limit and digests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from jobs.models import JobRun, Worker
from jobs.tests.factories import JobFactory, JobRunFactory, WorkerFactory
from notifications.models import Channel, Notification
from notifications.sender import NotificationSender
from notifications.services.delivery import (
    LEASE_SECONDS,
    lease_holder,
    notification_deliver,
    notifications_lease,
    notifications_release_orphans,
)
from notifications.services.outbox import notification_add, notifications_consume

pytestmark = pytest.mark.django_db

LOST_AFTER = 30.0


def test_a_sender_killed_after_commit_and_before_send_delivers_once_later(
    httpserver: HTTPServer,
    make_channel: Callable[..., Channel],
    end_run: Callable[..., JobRun],
    now: datetime,
) -> None:
    """The lease of a dead sender passes; the next sender sends it, once."""
    make_channel(secrets={"url": httpserver.url_for("/hook")})
    httpserver.expect_request("/hook").respond_with_data("ok")
    end_run("failed")
    notifications_consume(now=now)
    # The dying sender leased the row (committed) and never sent it.
    assert len(notifications_lease(now=now, limit=10)) == 1
    assert notifications_lease(now=now + timedelta(seconds=30), limit=10) == []
    later = now + timedelta(seconds=LEASE_SECONDS)
    sender = NotificationSender(stop=threading.Event(), clock=lambda: later)
    assert sender.run_once() == 1
    assert sender.run_once() == 0
    assert len(httpserver.log) == 1
    assert Notification.objects.get().status == "delivered"


def test_two_senders_never_lease_the_same_row(
    make_channel: Callable[..., Channel], end_run: Callable[..., JobRun], now: datetime
) -> None:
    """A leased row is not leased again until its lease passes."""
    make_channel(secrets={"url": "http://127.0.0.1:9/"})
    end_run("failed")
    notifications_consume(now=now)
    first = notifications_lease(now=now, limit=10)
    second = notifications_lease(now=now, limit=10)
    assert (len(first), second) == (1, [])


def test_the_rate_limit_holds_back_and_a_digest_follows(
    httpserver: HTTPServer,
    make_channel: Callable[..., Channel],
    now: datetime,
    scripts_dir: object,
) -> None:
    """Two an hour, burst 2: the third and fourth roll into one digest."""
    channel = make_channel(
        secrets={"url": httpserver.url_for("/hook")}, rate_per_hour=2, rate_burst=2
    )
    httpserver.expect_request("/hook").respond_with_data("ok")
    job = JobFactory.create(name="flaky")
    for n in range(4):
        run = JobRunFactory.create(job=job, scheduled_for=now + timedelta(minutes=n))
        facts = {"event": "failure", "event_label": "Failed", "job": f"r{n}"}
        notification_add(channel=channel, facts=facts, now=now, run=run)
    clock = [now]
    sender = NotificationSender(stop=threading.Event(), clock=lambda: clock[0])
    sender.run_once()
    statuses = list(
        Notification.objects.order_by("pk").values_list("status", flat=True)
    )
    assert statuses == ["delivered", "delivered", "suppressed", "suppressed"]
    # Twenty minutes give back 0.67 of a token: still nothing to send.
    clock[0] = now + timedelta(minutes=20)
    sender.run_once()
    assert len(httpserver.log) == 2
    clock[0] = now + timedelta(minutes=30)
    sender.run_once()
    digest = Notification.objects.order_by("pk").last()
    assert digest is not None
    assert (digest.event, digest.status, digest.subject) == (
        "digest",
        "delivered",
        "2 notifications held back by the rate limit",
    )
    payload = json.loads(httpserver.log[2][0].get_data())
    assert payload["text"] == "- [Failed] r2\n- [Failed] r3"


def _leased_by(holder: str, *, now: datetime) -> Notification:
    (row,) = notifications_lease(now=now, limit=10, holder=holder)
    return row


def test_rows_leased_by_a_worker_whose_heartbeat_stopped_are_released(
    make_channel: Callable[..., Channel], end_run: Callable[..., JobRun], now: datetime
) -> None:
    """Past the lost-after limit, the dead worker's lease goes; a live one stays."""
    make_channel(secrets={"url": "http://127.0.0.1:9/"})
    end_run("failed")
    notifications_consume(now=now)
    dead = WorkerFactory.create(name="dead", last_heartbeat_at=now)
    alive = WorkerFactory.create(name="alive", last_heartbeat_at=now)
    _leased_by(lease_holder(worker_id=dead.pk, process_token="aaaa"), now=now)
    later = now + timedelta(seconds=LOST_AFTER + 1)
    Worker.objects.filter(pk=alive.pk).update(last_heartbeat_at=later)
    me = lease_holder(worker_id=alive.pk, process_token="bbbb")
    assert (
        notifications_release_orphans(
            now=later, holder=me, lost_after_seconds=LOST_AFTER
        )
        == 1
    )
    assert len(notifications_lease(now=later, limit=10, holder=me)) == 1
    assert (
        notifications_release_orphans(
            now=later, holder=me, lost_after_seconds=LOST_AFTER
        )
        == 0
    )


def test_a_worker_restarted_under_its_name_releases_its_earlier_leases(
    make_channel: Callable[..., Channel], end_run: Callable[..., JobRun], now: datetime
) -> None:
    """Same worker row, another process: the earlier process's lease goes at once."""
    make_channel(secrets={"url": "http://127.0.0.1:9/"})
    end_run("failed")
    notifications_consume(now=now)
    worker = WorkerFactory.create(name="phoenix", last_heartbeat_at=now)
    _leased_by(lease_holder(worker_id=worker.pk, process_token="old1"), now=now)
    me = lease_holder(worker_id=worker.pk, process_token="new2")
    assert (
        notifications_release_orphans(now=now, holder=me, lost_after_seconds=LOST_AFTER)
        == 1
    )


def test_a_send_whose_timeout_outlasts_the_lease_is_not_started(
    httpserver: HTTPServer,
    make_channel: Callable[..., Channel],
    end_run: Callable[..., JobRun],
    now: datetime,
) -> None:
    """Another worker could lease it meanwhile: released unsent instead."""
    make_channel(secrets={"url": httpserver.url_for("/hook")})
    end_run("failed")
    notifications_consume(now=now)
    (row,) = notifications_lease(now=now, limit=10, lease_seconds=5)
    assert notification_deliver(row, clock=lambda: now, timeout_seconds=10) is None
    assert httpserver.log == []
    released = Notification.objects.get()
    assert (released.status, released.lease_until, released.attempts) == (
        Notification.Status.PENDING,
        None,
        0,
    )
    assert len(notifications_lease(now=now, limit=10)) == 1


def test_the_sender_of_a_worker_silent_past_half_the_limit_leases_nothing(
    httpserver: HTTPServer,
    make_channel: Callable[..., Channel],
    end_run: Callable[..., JobRun],
    now: datetime,
    settings: Any,
) -> None:
    """Its worker stopped: others will soon release its leases, so it holds off."""
    settings.JOB_PORTAL_WORKER_LOST_AFTER = LOST_AFTER
    httpserver.expect_request("/hook").respond_with_data("ok")
    make_channel(secrets={"url": httpserver.url_for("/hook")})
    end_run("failed")
    silent = now - timedelta(seconds=LOST_AFTER / 2 + 1)
    worker = WorkerFactory.create(name="stopped", last_heartbeat_at=silent)

    def step() -> None:
        NotificationSender(
            stop=threading.Event(), clock=lambda: now, worker_id=lambda: worker.pk
        ).run_once()

    step()
    assert httpserver.log == []
    Worker.objects.filter(pk=worker.pk).update(last_heartbeat_at=now)
    step()
    assert len(httpserver.log) == 1
