"""End to end: a real runworker sends one signed webhook per state change."""

from __future__ import annotations

import hashlib
import hmac
import json

from django.utils import timezone
from pytest_httpserver import HTTPServer

from jobs.models import Job, JobRun, RunEvent, RunEventReceipt
from jobs.services.runs import job_run_now
from jobs.tests.conftest import (  # noqa: F401 - fixtures used by name
    WorkerProcesses,
    artifacts_dir,
    eventually,
    worker_processes,
    worker_scripts,
)
from jobs.tests.factories import JobFactory
from notifications.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from notifications.models import Channel, Rule
from notifications.services.channels import channel_save

SECRET = "e2e-secret"
WAIT = 30.0


def acked_all() -> bool:
    """Return True once the consumer has acked every run event so far."""
    events = RunEvent.objects.count()
    acked = RunEventReceipt.objects.filter(
        consumer__name="notifications", acked_at__isnull=False
    ).count()
    return events > 0 and acked >= events


def run_and_wait(job: Job, status: str, workers: WorkerProcesses) -> None:
    run = job_run_now(job=job, requested_by=None, now=timezone.now())
    eventually(
        lambda: JobRun.objects.get(pk=run.pk).status == status,
        timeout=WAIT,
        context=workers.logs,
    )


def test_failures_send_one_signed_webhook_then_one_recovery(
    worker_processes: WorkerProcesses,  # noqa: F811 - the imported fixture
    httpserver: HTTPServer,
) -> None:
    """Three failures: one webhook; a success: one recovery; all signed."""
    httpserver.expect_request("/hook").respond_with_data("ok")
    now = timezone.now()
    channel = channel_save(
        channel=Channel(name="hook", kind="webhook"),
        secrets={"url": httpserver.url_for("/hook"), "secret": SECRET},
        now=now,
    )
    Rule.objects.create(channel=channel, triggers=["failure", "recovered"])
    job = JobFactory.create(
        name="flaky", script="fail.py", schedules=[{"type": "manual"}]
    )
    proc = worker_processes.start("--name", "e2e")
    for _ in range(3):
        run_and_wait(job, JobRun.Status.FAILED, worker_processes)
    eventually(acked_all, timeout=WAIT, context=worker_processes.logs)
    eventually(lambda: len(httpserver.log) >= 1, timeout=WAIT)
    Job.objects.filter(pk=job.pk).update(script="ok.py")
    run_and_wait(job, JobRun.Status.SUCCEEDED, worker_processes)
    eventually(lambda: len(httpserver.log) >= 2, timeout=WAIT)
    eventually(acked_all, timeout=WAIT, context=worker_processes.logs)
    proc.terminate()
    assert proc.wait(timeout=WAIT) == 0
    events = []
    for request, _ in httpserver.log:
        body = request.get_data()
        timestamp = request.headers[TIMESTAMP_HEADER]
        digest = hmac.new(
            SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        assert request.headers[SIGNATURE_HEADER] == f"sha256={digest}"
        events.append(json.loads(body)["event"])
    assert events == ["failure", "recovered"]
