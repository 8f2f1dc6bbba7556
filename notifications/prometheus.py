"""Notification counters for `/metrics` (registered in `AppConfig.ready`).

`jobportal_notification_attempts_total{kind, outcome}`: send attempts by
channel kind and outcome, all time: `delivered` (sent), `transient` (an
error; retried later), `permanent` (failed for good). Labels are the channel
kind, never the channel, so the series stay few (4 kinds x 3 outcomes).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric

from notifications.models import DeliveryTotal

FAMILY = "jobportal_notification_attempts"
DOCUMENTATION = (
    "Notification send attempts by channel kind and outcome "
    "(delivered: sent; transient: error, retried; permanent: failed for good)."
)


def notification_families() -> Iterator[Metric]:
    """Yield the notification counters (one query, a dozen rows at most)."""
    family = CounterMetricFamily(FAMILY, DOCUMENTATION, labels=["kind", "outcome"])
    for kind, outcome, attempts in DeliveryTotal.objects.order_by(
        "kind", "outcome"
    ).values_list("kind", "outcome", "attempts"):
        family.add_metric([kind, outcome], float(attempts))
    yield family
