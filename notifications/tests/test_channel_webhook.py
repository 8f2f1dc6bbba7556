"""The signed webhook against a real HTTP server: HMAC, retries, errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from jobs.models import JobRun
from notifications.channels.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)
from notifications.models import Channel, DeliveryAttempt, Notification
from notifications.services.delivery import notification_deliver, notifications_lease
from notifications.services.outbox import notifications_consume

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-hmac"


def verify(request: Request, secret: str) -> bool:
    """The README's verification snippet, as a receiver would run it."""
    timestamp = request.headers[TIMESTAMP_HEADER]
    body = request.get_data()
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(request.headers[SIGNATURE_HEADER], f"sha256={expected}")


def send_all(now: datetime, *, timeout_seconds: float = 5.0) -> list[object]:
    """Lease what is due at `now` and deliver it; return the attempts."""
    return [
        notification_deliver(row, clock=lambda: now, timeout_seconds=timeout_seconds)
        for row in notifications_lease(now=now, limit=10)
    ]


@pytest.fixture
def hook(
    httpserver: HTTPServer,
    make_channel: Callable[..., Channel],
    end_run: Callable[..., JobRun],
    now: datetime,
) -> Channel:
    """A webhook channel to the test server, and one failure queued for it."""
    channel = make_channel(
        secrets={"url": httpserver.url_for("/hook"), "secret": SECRET}
    )
    end_run("failed")
    notifications_consume(now=now)
    return channel


def test_the_receiver_gets_a_signed_payload_with_the_idempotency_key(
    httpserver: HTTPServer, hook: Channel, now: datetime
) -> None:
    """Signature, timestamp and key headers; the key also in the payload."""
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    send_all(now)
    request, _ = httpserver.log[0]
    row = Notification.objects.get()
    assert verify(request, SECRET) is True
    assert verify(request, "another secret") is False
    assert request.headers[IDEMPOTENCY_HEADER] == row.idempotency_key
    payload = json.loads(request.get_data())
    assert payload["idempotency_key"] == row.idempotency_key
    assert (payload["event"], payload["job"], payload["status"]) == (
        "failure",
        "nightly-report",
        "failed",
    )
    assert (row.status, row.attempts) == ("delivered", 1)


def test_a_500_then_a_200_is_retried_and_delivered_once(
    httpserver: HTTPServer, hook: Channel, now: datetime
) -> None:
    """A transient error waits for the backoff, then the retry delivers."""
    httpserver.expect_ordered_request("/hook").respond_with_data("down", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok", status=200)
    send_all(now)
    row = Notification.objects.get()
    assert (row.status, row.next_attempt_at) == ("pending", now + timedelta(seconds=5))
    assert send_all(now + timedelta(seconds=4)) == []
    send_all(now + timedelta(seconds=5))
    assert send_all(now + timedelta(hours=1)) == []
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("delivered", 2)
    outcomes = DeliveryAttempt.objects.order_by("pk").values_list(
        "outcome", "response_code"
    )
    assert list(outcomes) == [("transient", 500), ("delivered", 200)]
    assert len(httpserver.log) == 2


def test_a_404_stops_and_shows_as_the_channel_error(
    httpserver: HTTPServer, hook: Channel, now: datetime
) -> None:
    """A permanent error is not retried; the channel keeps it."""
    httpserver.expect_request("/hook").respond_with_data("no such hook", status=404)
    send_all(now)
    assert send_all(now + timedelta(hours=2)) == []
    row = Notification.objects.get()
    hook.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 1)
    assert hook.last_error == "HTTP 404 NOT FOUND: no such hook"
    assert hook.last_error_at == now
    assert len(httpserver.log) == 1


def test_a_429_is_retried(httpserver: HTTPServer, hook: Channel, now: datetime) -> None:
    """Too many requests is transient, not permanent."""
    httpserver.expect_request("/hook").respond_with_data("slow down", status=429)
    send_all(now)
    row = Notification.objects.get()
    assert (row.status, row.last_error) == (
        "pending",
        "HTTP 429 TOO MANY REQUESTS: slow down",
    )


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """An event a hanging handler waits on; set at teardown so it ends."""
    event = threading.Event()
    yield event
    event.set()


def test_a_receiver_that_does_not_answer_times_out_and_is_retried(
    httpserver: HTTPServer, hook: Channel, now: datetime, release: threading.Event
) -> None:
    """The send is bounded by the channel timeout; the row waits for a retry."""

    def hang(request: Request) -> Response:
        release.wait(10)
        return Response("late")

    httpserver.expect_request("/hook").respond_with_handler(hang)
    (attempt,) = send_all(now, timeout_seconds=0.3)
    release.set()
    assert isinstance(attempt, DeliveryAttempt)
    assert (attempt.outcome, attempt.error) == ("transient", "No answer within 0.3 s.")
    assert attempt.duration_ms < 3000
    assert Notification.objects.get().status == "pending"
