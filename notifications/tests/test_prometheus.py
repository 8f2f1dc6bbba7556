"""`/metrics`: the notification counters, parsed with the client's parser."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from jobs.models import JobRun
from notifications.models import Channel
from notifications.prometheus import FAMILY
from notifications.services.delivery import notification_deliver, notifications_lease
from notifications.services.outbox import notifications_consume

pytestmark = pytest.mark.django_db


def attempts_scraped(client: Client) -> dict[tuple[str, str], float]:
    """GET /metrics; return {(kind, outcome): attempts} of the family."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    families = text_string_to_metric_families(response.content.decode())
    (family,) = [f for f in families if f.name == FAMILY]
    return {
        (s.labels["kind"], s.labels["outcome"]): s.value
        for s in family.samples
        if s.name == FAMILY + "_total"
    }


def test_attempts_are_counted_by_channel_kind_and_outcome(
    client: Client,
    httpserver: HTTPServer,
    make_channel: Callable[..., Channel],
    end_run: Callable[..., JobRun],
    now: datetime,
) -> None:
    """200, 404, 500 on webhooks and a 200 on Slack; deleting keeps the counts."""
    for path, status in (("/ok", 200), ("/gone", 404), ("/busy", 500)):
        httpserver.expect_request(path).respond_with_data("x", status=status)
        make_channel(name=path, secrets={"url": httpserver.url_for(path)})
    httpserver.expect_request("/slack").respond_with_data("ok")
    make_channel("slack", secrets={"url": httpserver.url_for("/slack")})
    end_run("failed")
    notifications_consume(now=now)
    for row in notifications_lease(now=now, limit=10):
        notification_deliver(row, clock=lambda: now, timeout_seconds=5.0)
    expected = {
        ("slack", "delivered"): 1.0,
        ("webhook", "delivered"): 1.0,
        ("webhook", "permanent"): 1.0,
        ("webhook", "transient"): 1.0,
    }
    assert attempts_scraped(client) == expected
    Channel.objects.all().delete()
    assert attempts_scraped(client) == expected


def test_no_attempt_yet_gives_an_empty_family(client: Client) -> None:
    """The family is there before the first send, without samples."""
    assert attempts_scraped(client) == {}
