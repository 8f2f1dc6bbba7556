"""Slack: blocks posted to a real HTTP server."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import pytest
from pytest_httpserver import HTTPServer

from jobs.models import JobRun
from notifications.models import Channel
from notifications.services.delivery import notification_deliver, notifications_lease
from notifications.services.outbox import notifications_consume

pytestmark = pytest.mark.django_db


def test_slack_receives_a_header_text_and_facts(
    httpserver: HTTPServer,
    make_channel: Callable[..., Channel],
    end_run: Callable[..., JobRun],
    now: datetime,
) -> None:
    """The incoming webhook gets Block Kit blocks and a fallback text."""
    make_channel("slack", secrets={"url": httpserver.url_for("/services/T/B/X")})
    end_run("failed")
    notifications_consume(now=now)
    httpserver.expect_oneshot_request("/services/T/B/X").respond_with_data("ok")
    for row in notifications_lease(now=now, limit=5):
        notification_deliver(row, clock=lambda: now)
    payload = json.loads(httpserver.log[0][0].get_data())
    assert payload["text"] == "[Failed] nightly-report"
    header, text, facts = payload["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "[Failed] nightly-report"}
    assert text["text"]["text"].startswith("Job nightly-report: Failed.")
    assert {"type": "mrkdwn", "text": "*exit code*\n2"} in facts["fields"]
