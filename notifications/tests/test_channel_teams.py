"""Microsoft Teams: an Adaptive Card posted to a real HTTP server."""

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


def test_teams_receives_an_adaptive_card(
    httpserver: HTTPServer,
    make_channel: Callable[..., Channel],
    end_run: Callable[..., JobRun],
    now: datetime,
) -> None:
    """One attachment: title, text, facts and a link to the run."""
    make_channel("teams", secrets={"url": httpserver.url_for("/webhookb2/x")})
    run = end_run("failed")
    notifications_consume(now=now)
    httpserver.expect_oneshot_request("/webhookb2/x").respond_with_data("1")
    for row in notifications_lease(now=now, limit=5):
        notification_deliver(row, clock=lambda: now)
    payload = json.loads(httpserver.log[0][0].get_data())
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    title, _, facts = card["body"]
    assert title["text"] == "[Failed] nightly-report"
    assert {"title": "status", "value": "failed"} in facts["facts"]
    assert card["actions"][0]["url"].endswith(f"/admin/jobs/jobrun/{run.pk}/change/")
