"""Email through a real SMTP server (aiosmtpd): headers, body, refusals."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from jobs.models import JobRun
from notifications.models import Channel, Notification
from notifications.services.delivery import notification_deliver, notifications_lease
from notifications.services.outbox import notifications_consume

pytestmark = pytest.mark.django_db


class Inbox:
    """An aiosmtpd handler keeping each mail; refuses `refuse` recipients."""

    def __init__(self) -> None:
        self.mails: list[tuple[Envelope, Message]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, *_: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        self.mails.append((envelope, message_from_bytes(raw)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp(settings: Any) -> Iterator[Inbox]:
    """A real SMTP server on localhost, set as JOB_PORTAL_SMTP_HOST/_PORT."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.JOB_PORTAL_SMTP_HOST = "127.0.0.1"
    settings.JOB_PORTAL_SMTP_PORT = port
    settings.JOB_PORTAL_SMTP_FROM = "portal@example.com"
    yield inbox
    controller.stop()


def deliver(now: datetime) -> None:
    for row in notifications_lease(now=now, limit=5):
        notification_deliver(row, clock=lambda: now)


def test_a_failure_mail_reaches_the_server_with_headers_and_body(
    smtp: Inbox,
    make_channel: Callable[..., Channel],
    end_run: Callable[..., JobRun],
    now: datetime,
) -> None:
    """From, To, Subject and the key header; the body names run and output."""
    make_channel("email", config={"to": ["ops@example.com", "dev@example.com"]})
    run = end_run("failed", output="disk full\n")
    notifications_consume(now=now)
    deliver(now)
    ((envelope, mail),) = smtp.mails
    row = Notification.objects.get()
    assert envelope.rcpt_tos == ["ops@example.com", "dev@example.com"]
    assert mail["From"] == "portal@example.com"
    assert mail["To"] == "ops@example.com, dev@example.com"
    assert mail["Subject"] == "[Failed] nightly-report"
    assert mail["X-JobPortal-Idempotency-Key"] == row.idempotency_key
    body = mail.get_payload()
    assert f"Run {run.pk} (attempt 1) ended failed: Exit code 2." in body
    assert "disk full" in body
    assert (row.status, row.attempts) == ("delivered", 1)


def test_an_smtp_5xx_is_permanent_and_shows_on_the_channel(
    smtp: Inbox,
    make_channel: Callable[..., Channel],
    end_run: Callable[..., JobRun],
    now: datetime,
) -> None:
    """A refused recipient stops retries and sets the channel's last error."""
    smtp.refuse = {"nobody@example.com"}
    channel = make_channel("email", config={"to": "nobody@example.com"})
    end_run("failed")
    notifications_consume(now=now)
    deliver(now)
    channel.refresh_from_db()
    assert Notification.objects.get().status == "failed"
    assert channel.last_error.startswith(
        "Recipients refused: {'nobody@example.com': (550"
    )
    assert smtp.mails == []
