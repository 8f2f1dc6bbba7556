"""A consumer process killed while deciding a round: nothing kept, then once.

A real process, on the test database, claims the upstream run's event as
the "dependencies" consumer, acks it and queues the downstream run inside
its transaction, and is killed (SIGKILL) before committing. Nothing of it
is kept: no downstream run, the event unacked. Once the lease is over the
event comes back, and the downstream job is queued exactly once. Time is
injected (`now`), never slept.
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

from jobs.models import Job, JobDependency, JobRun, RunEventReceipt
from jobs.services.dependencies import CONSUMER, dependency_events_process
from jobs.tests.conftest import FakeClock, WorkerProcesses, eventually
from jobs.tests.test_services_dependencies import OK, finish

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 30.0
LEASE_SECONDS = 60
# Claim, ack and decide in one transaction; hang before it commits.
DECIDER = f"""
import os, sys
from datetime import datetime
from django.db import transaction
from jobs.services.dependencies import dependency_run_ended
from jobs.services.events import run_events_ack, run_events_claim
now = datetime.fromisoformat(os.environ["CONSUMER_NOW"])
(event,) = run_events_claim(
    consumer={CONSUMER!r}, limit=1, now=now, lease_seconds={LEASE_SECONDS}
)
with transaction.atomic():
    run_events_ack(consumer={CONSUMER!r}, event_ids=[event.pk], now=now)
    runs = dependency_run_ended(run=event.run, now=now)
    print("DECIDED", [run.job.name for run in runs], flush=True)
    sys.stdin.read()  # killed here, before the commit
"""


def decider(
    workers: WorkerProcesses, log: Path, now: datetime
) -> subprocess.Popen[bytes]:
    """Start the deciding process on the test database; output goes to `log`."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", DECIDER],
        cwd=settings.BASE_DIR,
        env={**workers.env, "CONSUMER_NOW": now.isoformat()},
        stdin=subprocess.PIPE,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def test_a_consumer_killed_before_its_commit_queues_downstream_once_after_the_lease(
    worker_processes: WorkerProcesses,
    make_job: Callable[..., Job],
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    upstream = make_job("extract", schedules=[{"type": "manual"}])
    downstream = make_job("transform", schedules=[{"type": "manual"}])
    JobDependency.objects.create(job=downstream, depends_on=upstream)
    finish(upstream, OK, clock)

    decided_at = clock.advance(1)
    log = tmp_path / "decider.log"
    process = decider(worker_processes, log, decided_at)
    try:
        decided = eventually(
            lambda: next(
                (x for x in log.read_text().splitlines() if x.startswith("DECIDED")),
                "",
            ),
            timeout=TIMEOUT,
            context=lambda: log.read_text(errors="replace"),
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=TIMEOUT)
    assert decided == "DECIDED ['transform']"
    assert not JobRun.objects.filter(job=downstream).exists()
    assert RunEventReceipt.objects.get(consumer__name=CONSUMER).acked_at is None

    within = decided_at + timedelta(seconds=LEASE_SECONDS - 1)
    assert dependency_events_process(now=within) == 0
    after = decided_at + timedelta(seconds=LEASE_SECONDS)
    assert dependency_events_process(now=after) == 1
    assert dependency_events_process(now=after + timedelta(days=1)) == 0
    (run,) = JobRun.objects.filter(job=downstream)
    assert (run.trigger, run.status) == (JobRun.Trigger.DEPENDENCY, "queued")
