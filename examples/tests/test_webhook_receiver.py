"""Example (c): the receiver verifies real deliveries of the portal's webhook."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from examples.webhook_receiver.receiver import create_app
from notifications.channels.base import ChannelError, Message
from notifications.channels.webhook import WebhookChannel, signature

SECRET = "receiver-shared-secret"
PORT = 18111


@pytest.fixture
def received() -> list[dict[str, Any]]:
    """The events the receiver handled."""
    return []


@pytest.fixture
def server(received: list[dict[str, Any]]) -> Iterator[BaseWSGIServer]:
    """The receiver served over real HTTP on the helper's port."""
    app = create_app(SECRET, received.append)
    served = make_server("127.0.0.1", PORT, app, threaded=True)
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    yield served
    served.shutdown()
    thread.join(timeout=10)


def channel(secret: str) -> WebhookChannel:
    """The portal's webhook channel aimed at the receiver."""
    return WebhookChannel(
        config={},
        secrets={"url": f"http://127.0.0.1:{PORT}/hook", "secret": secret},
        timeout_seconds=5,
    )


MESSAGE = Message(
    subject="Job nightly failed",
    body="exit code 2",
    idempotency_key="run-7-failed",
    event="failed",
    facts={"job": "nightly", "status": "failed"},
)


def test_a_signed_delivery_is_accepted_and_handled_once(
    server: BaseWSGIServer, received: list[dict[str, Any]]
) -> None:
    assert channel(SECRET).send(MESSAGE) == 200
    assert channel(SECRET).send(MESSAGE) == 200  # the outbox's retry: a repeat

    assert len(received) == 1
    assert received[0]["event"] == "failed"
    assert received[0]["job"] == "nightly"
    assert received[0]["idempotency_key"] == "run-7-failed"


def test_a_delivery_signed_with_another_secret_is_refused(
    server: BaseWSGIServer, received: list[dict[str, Any]]
) -> None:
    with pytest.raises(ChannelError) as refused:
        channel("not-the-secret").send(MESSAGE)

    assert refused.value.response_code == 401
    assert received == []


def test_a_stale_delivery_is_refused_as_a_replay(
    received: list[dict[str, Any]],
) -> None:
    later = create_app(SECRET, received.append, clock=lambda: 4_000_000_000.0)
    body = b'{"event": "failed"}'
    headers = {
        "X-JobPortal-Timestamp": "1700000000",
        "X-JobPortal-Signature": signature(SECRET, "1700000000", body),
    }

    answer = later.test_client().post("/hook", data=body, headers=headers)

    assert answer.status_code == 401
    assert received == []
