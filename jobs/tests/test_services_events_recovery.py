"""Done when: a crash between a run's end and a consumer's ack loses nothing.

Real processes on the test database: a `runworker` runs a job to its end
and is killed (SIGKILL); a consumer process claims the run's event and is
killed before it acks; once the lease is over, a second consumer process
gets that event exactly once and acks it, and nothing comes back after.
Time is injected into the consumers (`now`), never slept.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from jobs.models import Job, JobRun, RunEvent, RunEventReceipt
from jobs.services.events import run_events_claim
from jobs.services.runs import job_run_now
from jobs.tests.conftest import WorkerProcesses, eventually

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 30.0
LEASE_SECONDS = 60
# A consumer: claim at NOW, print the ids, ack unless told to hang first.
CONSUMER = f"""
import os, sys
from datetime import datetime
from jobs.services.events import run_events_ack, run_events_claim
now = datetime.fromisoformat(os.environ["CONSUMER_NOW"])
claimed = run_events_claim(
    consumer="notifications", limit=10, now=now, lease_seconds={LEASE_SECONDS}
)
print("CLAIMED", [event.pk for event in claimed], flush=True)
if os.environ.get("CONSUMER_HANG"):
    sys.stdin.read()  # killed here, before the ack
acked = run_events_ack(
    consumer="notifications", event_ids=[event.pk for event in claimed], now=now
)
print("ACKED", acked, flush=True)
"""


def consumer(
    workers: WorkerProcesses, log: Path, *, now: datetime, hang: bool
) -> subprocess.Popen[bytes]:
    """Start a consumer process on the test database; output goes to `log`."""
    env = {**workers.env, "CONSUMER_NOW": now.isoformat()}
    if hang:
        env["CONSUMER_HANG"] = "1"
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", CONSUMER],
        cwd=settings.BASE_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def line(log: Path, prefix: str) -> str:
    """Return the log's line starting with `prefix`, or ""."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return next((x for x in text.splitlines() if x.startswith(prefix)), "")


def test_an_event_is_delivered_once_after_worker_and_consumer_crash(
    worker_processes: WorkerProcesses,
    make_job: Callable[..., Job],
    tmp_path: Path,
) -> None:
    """End → worker killed → consumer killed before ack → redelivered once."""
    worker = worker_processes.start("--name", "doomed")
    run = job_run_now(
        job=make_job(schedules=[{"type": "manual"}]),
        requested_by=None,
        now=timezone.now(),
    )
    ended = eventually(
        lambda: RunEvent.objects.filter(run=run).first(),
        timeout=TIMEOUT,
        context=worker_processes.logs,
    )
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=TIMEOUT)
    assert JobRun.objects.get(pk=run.pk).status == JobRun.Status.SUCCEEDED
    assert (ended.kind, ended.status) == (RunEvent.Kind.ENDED, "succeeded")

    claimed_at = timezone.now()
    first_log = tmp_path / "consumer-1.log"
    first = consumer(worker_processes, first_log, now=claimed_at, hang=True)
    try:
        claimed = eventually(
            lambda: line(first_log, "CLAIMED"),
            timeout=TIMEOUT,
            context=lambda: first_log.read_text(errors="replace"),
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=TIMEOUT)
    assert claimed == f"CLAIMED [{ended.pk}]"
    assert RunEventReceipt.objects.get(consumer__name="notifications").acked_at is None

    # Within the lease, the dead consumer's claim still holds the event.
    within = claimed_at + timedelta(seconds=LEASE_SECONDS - 1)
    assert run_events_claim(consumer="notifications", limit=10, now=within) == []

    after = claimed_at + timedelta(seconds=LEASE_SECONDS)
    second_log = tmp_path / "consumer-2.log"
    second = consumer(worker_processes, second_log, now=after, hang=False)
    assert second.wait(timeout=TIMEOUT) == 0, second_log.read_text(errors="replace")
    assert line(second_log, "CLAIMED") == f"CLAIMED [{ended.pk}]"
    assert line(second_log, "ACKED") == "ACKED 1"

    much_later = after + timedelta(days=1)
    assert run_events_claim(consumer="notifications", limit=10, now=much_later) == []
    receipt = RunEventReceipt.objects.get(consumer__name="notifications")
    assert (receipt.event_id, receipt.acked_at) == (ended.pk, after)
