"""`GET /metrics`: Prometheus' text format, for a scraper (not a DRF view).

No session, API key or rate limit: the scraper is let in by the bearer
token and/or its address (`jobs.prometheus.metrics_access_refusal`).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from jobportal import clock
from jobs import conf
from jobs.prometheus import exposition, metrics_access_refusal


@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """Answer the metrics, or 401/403 naming what is missing."""
    refusal = metrics_access_refusal(
        authorization=request.headers.get("Authorization", ""),
        address=request.META.get("REMOTE_ADDR", ""),
        token=conf.metrics_token(),
        allowed=conf.metrics_allowed_ips(),
    )
    if refusal is not None:
        status, message = refusal
        response = HttpResponse(
            message + "\n", status=status, content_type="text/plain"
        )
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = exposition(
        now=clock.now(),
        lost_after_seconds=conf.worker_lost_after_seconds(),
        per_job=conf.metrics_per_job(),
    )
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
