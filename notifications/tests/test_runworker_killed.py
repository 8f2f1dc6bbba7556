"""End to end: a worker killed -9 in the middle of a send; its sender process.

A real ``runworker`` leases the notification and sends it to a receiver that
holds the request open; the test kills the worker while the request hangs,
so the send never completes on the worker's side. A second worker (another
name) finds the lease held by a worker whose heartbeat stopped, releases it
and sends again, with the same idempotency key: the receiver accepts exactly
one delivery.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from jobs.models import JobRun
from jobs.services.runs import job_run_now
from jobs.tests.conftest import (  # noqa: F401 - fixtures used by name
    WorkerProcesses,
    artifacts_dir,
    eventually,
    worker_processes,
    worker_scripts,
)
from jobs.tests.factories import JobFactory
from notifications.models import Channel, DeliveryAttempt, Notification, Rule
from notifications.services.channels import channel_save

WAIT = 30.0
# The workers count a silent worker dead after this long (their runs lost,
# their notification leases released).
LOST_AFTER = "2"


def sender_pids(log: str) -> list[int]:
    """Return the pids of the sender processes a worker's log names."""
    return [
        int(pid)
        for pid in re.findall(r"Notification sender started \(pid (\d+)\)", log)
    ]


def is_running(pid: int) -> bool:
    """Return whether process `pid` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


class HoldingReceiver(ThreadingHTTPServer):
    """Hold the first request open until told; accept every later one."""

    daemon_threads = True

    def __init__(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        super().__init__(("127.0.0.1", 0), _Handler)
        self.first_arrived = threading.Event()
        self.let_go = threading.Event()
        self.lock = threading.Lock()
        # (idempotency key, answered 200) per request, in arrival order.
        self.requests: list[tuple[str, bool]] = []

    @property
    def url(self) -> str:
        """Return the webhook URL."""
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def accepted(self) -> list[str]:
        """Return the keys of the requests answered 200."""
        with self.lock:
            return [key for key, ok in self.requests if ok]


class _Handler(BaseHTTPRequestHandler):
    server: HoldingReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        key = json.loads(body)["idempotency_key"]
        with self.server.lock:
            is_first = not self.server.requests
            self.server.requests.append((key, not is_first))
        if is_first:
            self.server.first_arrived.set()
            # Bounded: the test sets it once the sender is dead.
            self.server.let_go.wait(WAIT)
            self.close_connection = True
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@pytest.fixture
def receiver() -> Iterator[HoldingReceiver]:
    """Serve a holding receiver in a thread; shut it down after."""
    server = HoldingReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.let_go.set()
    server.shutdown()
    server.server_close()


def test_a_worker_killed_during_the_send_leaves_one_delivery_to_the_next(
    worker_processes: WorkerProcesses,  # noqa: F811 - the imported fixture
    receiver: HoldingReceiver,
) -> None:
    """Killed -9 mid-send: the next worker sends it once more, same key, once."""
    channel = channel_save(
        channel=Channel(name="hook", kind="webhook"),
        secrets={"url": receiver.url, "secret": "kill-secret"},
        now=timezone.now(),
    )
    Rule.objects.create(channel=channel, triggers=["failure"])
    job = JobFactory.create(
        name="doomed", script="fail.py", schedules=[{"type": "manual"}]
    )
    first = worker_processes.start(
        "--name", "first", JOB_PORTAL_WORKER_LOST_AFTER=LOST_AFTER
    )
    run = job_run_now(job=job, requested_by=None, now=timezone.now())
    eventually(
        lambda: JobRun.objects.get(pk=run.pk).status == JobRun.Status.FAILED,
        timeout=WAIT,
        context=worker_processes.logs,
    )
    assert receiver.first_arrived.wait(WAIT) is True, worker_processes.logs()
    sender_pid = sender_pids(worker_processes.log(first))[0]
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=WAIT) == -signal.SIGKILL
    # The sender process dies with its worker.
    eventually(lambda: not is_running(sender_pid), timeout=WAIT)
    receiver.let_go.set()
    notification = Notification.objects.get()
    assert notification.status == Notification.Status.PENDING
    assert notification.lease_token.startswith("w")

    second = worker_processes.start(
        "--name", "second", JOB_PORTAL_WORKER_LOST_AFTER=LOST_AFTER
    )
    eventually(
        lambda: Notification.objects.get().status == Notification.Status.DELIVERED,
        timeout=WAIT,
        context=worker_processes.logs,
    )
    second.terminate()
    assert second.wait(timeout=WAIT) == 0
    key = notification.idempotency_key
    assert receiver.requests == [(key, False), (key, True)]
    assert receiver.accepted() == [key]
    attempts = DeliveryAttempt.objects.filter(notification=notification)
    assert [(a.outcome, a.response_code) for a in attempts] == [
        (DeliveryAttempt.Outcome.DELIVERED, 200)
    ]
    assert "leased by a worker that died" in worker_processes.log(second)


def test_a_sender_process_that_dies_is_restarted_by_its_worker(
    worker_processes: WorkerProcesses,  # noqa: F811 - the imported fixture
) -> None:
    """Killed alone, the sender comes back; SIGTERM to the worker ends both."""
    proc = worker_processes.start("--name", "keeper")
    eventually(
        lambda: len(sender_pids(worker_processes.log(proc))) == 1,
        timeout=WAIT,
        context=worker_processes.logs,
    )
    (first,) = sender_pids(worker_processes.log(proc))
    os.kill(first, signal.SIGKILL)
    eventually(
        lambda: len(sender_pids(worker_processes.log(proc))) == 2,
        timeout=WAIT,
        context=worker_processes.logs,
    )
    second = sender_pids(worker_processes.log(proc))[1]
    assert is_running(second) is True
    proc.terminate()
    assert proc.wait(timeout=WAIT) == 0
    assert is_running(second) is False
    assert "Notification sender exited with -9; restarting" in (
        worker_processes.log(proc)
    )
