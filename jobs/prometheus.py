"""`/metrics` in Prometheus' text format: a collector over the rollups.

The collector reads a fixed, small set of rows whatever the size of the
history: the all-time totals per status (`MetricTotal`), the live queue and
workers, and the jobs' last outcomes grouped by status. Per-job series
(one per job and status) only with JOB_PORTAL_METRICS_PER_JOB, since 10k
jobs would make 10k+ series.

Other apps add their own families through `metrics_source_register` (the
hook for "notifications sent/failed": the notifications app registers a
function returning its `Metric` families in its `AppConfig.ready`); this
module imports none of them.

Access (`metrics_access_refusal`): with JOB_PORTAL_METRICS_TOKEN set, the
request needs ``Authorization: Bearer <token>``; with
JOB_PORTAL_METRICS_ALLOWED_IPS set, its address must be in one of them;
with neither, only loopback clients are answered.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

from prometheus_client import generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from jobs import histograms
from jobs import selectors_metrics as metrics

MetricSource = Callable[[], Iterable[Metric]]
_SOURCES: list[MetricSource] = []

LOOPBACK = ("127.0.0.0/8", "::1/128")
MSG_BEARER_REQUIRED = (
    "A bearer token is required: Authorization: Bearer <JOB_PORTAL_METRICS_TOKEN>."
)
MSG_ADDRESS = "This address may not read /metrics (JOB_PORTAL_METRICS_ALLOWED_IPS)."


def metrics_source_register(source: MetricSource) -> None:
    """Add `source`'s metric families to every /metrics answer (once)."""
    if source not in _SOURCES:
        _SOURCES.append(source)


def metrics_source_unregister(source: MetricSource) -> None:
    """Stop adding `source`'s families (tests)."""
    if source in _SOURCES:
        _SOURCES.remove(source)


def metrics_access_refusal(
    *,
    authorization: str,
    address: str,
    token: str,
    allowed: Sequence[str],
) -> tuple[int, str] | None:
    """Return (status, message) refusing the request, or None to answer it."""
    if token:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return 401, MSG_BEARER_REQUIRED
    networks = allowed or (() if token else LOOPBACK)
    if networks and not _address_in(address, networks):
        return 403, MSG_ADDRESS
    return None


def _address_in(address: str, networks: Sequence[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in networks:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue  # reported by check jobs.E160
    return False


def _histogram(
    name: str,
    documentation: str,
    counts: Sequence[int],
    bounds: Sequence[float],
    total: float,
) -> HistogramMetricFamily:
    cumulative = histograms.cumulative(counts)
    buckets = [
        (str(bound), float(n)) for bound, n in zip(bounds, cumulative, strict=False)
    ]
    buckets.append(("+Inf", float(cumulative[-1] if cumulative else 0)))
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=total)


class PortalCollector(Collector):
    """Turn the rollups and the live state into metric families."""

    def __init__(
        self, *, now: datetime, lost_after_seconds: float, per_job: bool
    ) -> None:
        """Collect as of `now`; per-job series only when `per_job`."""
        self.now = now
        self.lost_after_seconds = lost_after_seconds
        self.per_job = per_job

    def collect(self) -> Iterator[Metric]:
        """Yield every family, then those of the registered sources."""
        yield from self._runs()
        yield from self._live()
        if self.per_job:
            yield self._per_job()
        for source in list(_SOURCES):
            yield from source()

    def _runs(self) -> Iterator[Metric]:
        totals = metrics.totals()
        runs = CounterMetricFamily(
            "jobportal_runs", "Runs ended, by status.", labels=["status"]
        )
        for row in totals:
            runs.add_metric([row.status], float(row.runs))
        yield runs
        yield _histogram(
            "jobportal_run_duration_seconds",
            "How long runs took (finished - started).",
            histograms.merge(
                (r.duration_buckets for r in totals), histograms.DURATION_BOUNDS
            ),
            histograms.DURATION_BOUNDS,
            sum(r.duration_sum for r in totals),
        )
        yield _histogram(
            "jobportal_run_lateness_seconds",
            "How late runs started (started - due).",
            histograms.merge(
                (r.lateness_buckets for r in totals), histograms.LATENESS_BOUNDS
            ),
            histograms.LATENESS_BOUNDS,
            sum(r.lateness_sum for r in totals),
        )

    def _live(self) -> Iterator[Metric]:
        live = metrics.live_state(
            jobs=None, now=self.now, lost_after_seconds=self.lost_after_seconds
        )
        oldest = live.oldest_queued_at
        cycle = live.last_cycle_at
        for name, documentation, value in (
            ("jobportal_queue_depth", "Queued runs already due.", live.queued),
            (
                "jobportal_queue_oldest_age_seconds",
                "Age of the oldest due queued run (0: none).",
                (self.now - oldest).total_seconds() if oldest else 0.0,
            ),
            ("jobportal_runs_running", "Runs running now.", live.running),
            ("jobportal_workers_alive", "Workers heart-beating.", live.workers_alive),
            (
                "jobportal_last_cycle_age_seconds",
                "Seconds since a worker last finished a scheduling cycle (-1: never).",
                (self.now - cycle).total_seconds() if cycle else -1.0,
            ),
        ):
            yield GaugeMetricFamily(name, documentation, value=float(value))
        last = GaugeMetricFamily(
            "jobportal_jobs",
            "Jobs by their latest slot's status.",
            labels=["last_status"],
        )
        for status, count in sorted(metrics.jobs_by_last_status(None).items()):
            last.add_metric([status], float(count))
        yield last

    def _per_job(self) -> Metric:
        family = CounterMetricFamily(
            "jobportal_job_runs",
            "Runs ended, by job and status.",
            labels=["job", "status"],
        )
        for _, name, status, total in metrics.job_totals():
            family.add_metric([name, status], float(total))
        return family


def exposition(*, now: datetime, lost_after_seconds: float, per_job: bool) -> bytes:
    """Return the whole /metrics answer in the text exposition format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        PortalCollector(now=now, lost_after_seconds=lost_after_seconds, per_job=per_job)
    )
    return generate_latest(registry)
