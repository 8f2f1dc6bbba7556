"""Promptness: how long the loop waits, and what wakes it early."""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from pytest_django import DjangoCaptureOnCommitCallbacks

from jobs.models import Job, JobRun
from jobs.services.runs import job_run_now
from jobs.tests.conftest import FakeClock, eventually
from jobs.wakeup import (
    FileWaiter,
    NullWaiter,
    PostgresWaiter,
    make_waiter,
    wakeup_notify,
)
from jobs.worker import CANCEL_CHECK_SECONDS, InFlight, WorkerLoop

pytestmark = pytest.mark.django_db


class ScriptedWaiter:
    """A waiter whose polls answer from a list, then False."""

    tick_seconds = 0.05

    def __init__(self, answers: list[bool]) -> None:
        """Remember the answers."""
        self.answers = answers

    def poll(self) -> bool:
        """Return the next answer."""
        return self.answers.pop(0) if self.answers else False

    def fileno(self) -> int | None:
        """Return None: polled only."""
        return None

    def close(self) -> None:
        """Hold nothing."""


def test_the_loop_waits_until_the_next_slot(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """A slot 3 s away and a 5 s poll: wait 3 s, not a whole poll."""
    make_job(schedules=[{"type": "interval", "seconds": 60}])
    clock.now = clock.now + timedelta(seconds=57)
    loop.heartbeat()
    assert loop.seconds_until_next() == 3.0


def test_with_nothing_due_the_loop_waits_one_poll(
    make_job: Callable[..., Job], loop: WorkerLoop
) -> None:
    """Next slot in an hour: wait the poll interval."""
    make_job(schedules=[{"type": "interval", "seconds": 3600}])
    loop.heartbeat()
    assert loop.seconds_until_next() == 5.0


def test_a_run_falling_due_after_the_cycles_claim_is_due_at_once(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its instant came while the cycle counted metrics: no wait for it.

    It used to be left for the next wakeup (the next slot, a poll): a run
    started 0.7 s late while notifications flowed (bench/notify.py).
    """
    job = make_job(schedules=[{"type": "interval", "seconds": 3600}])
    loop.heartbeat()
    run = job_run_now(job=job, requested_by=None, now=clock.now)
    JobRun.objects.filter(pk=run.pk).update(
        not_before=clock.now + timedelta(milliseconds=50)
    )

    def slow_step() -> int:
        clock.advance(0.1)
        return 0

    monkeypatch.setattr(loop, "count_metrics", slow_step)
    assert loop.run_once() == 0.0
    (claimed,) = loop.claim_runs(1)
    assert claimed.pk == run.pk


def test_running_runs_are_checked_for_cancels_twice_a_second(
    make_job: Callable[..., Job], loop: WorkerLoop
) -> None:
    """While runs are in flight the wait is at most CANCEL_CHECK_SECONDS."""
    loop.heartbeat()
    loop._in_flight[1] = InFlight(run_id=1)
    assert loop.seconds_until_next() == CANCEL_CHECK_SECONDS
    del loop._in_flight[1]


def test_a_wakeup_ends_the_wait_early(make_loop: Callable[..., WorkerLoop]) -> None:
    """The second poll answers: a 30 s wait ends after about two ticks."""
    loop = make_loop(waiter=ScriptedWaiter([False, True]))
    started = time.monotonic()
    assert loop.wait(30) is True
    assert time.monotonic() - started < 1.0


def test_the_stop_event_ends_the_wait(make_loop: Callable[..., WorkerLoop]) -> None:
    """SIGTERM's handler sets the event: the wait ends within a tick."""
    loop = make_loop()
    threading.Timer(0.05, loop.stop.set).start()
    started = time.monotonic()
    assert loop.wait(30) is True
    assert time.monotonic() - started < 1.0


def test_a_run_ending_rings_the_loop_awake(
    make_loop: Callable[..., WorkerLoop],
) -> None:
    """The pool rings the doorbell when a run ends: the wait ends at once."""
    loop = make_loop()
    threading.Timer(0.05, loop._doorbell.ring).start()
    started = time.monotonic()
    assert loop.wait(30) is True
    assert time.monotonic() - started < 0.3


def test_a_short_wait_times_out(make_loop: Callable[..., WorkerLoop]) -> None:
    """Nothing happens: wait() returns False after its time."""
    assert make_loop(waiter=NullWaiter()).wait(0.01) is False


def test_the_waiter_suits_the_database() -> None:
    """SQLite watches a file next to the database; PostgreSQL LISTENs."""
    waiter = make_waiter()
    if connection.vendor == "postgresql":
        assert isinstance(waiter, PostgresWaiter)
    else:
        assert isinstance(waiter, FileWaiter)
        assert str(waiter.path) == str(connection.settings_dict["NAME"]) + ".wakeup"
    waiter.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify: Linux")
def test_the_file_waiter_sleeps_on_inotify_not_on_a_tick(tmp_path: Path) -> None:
    """No polling: a stamp of the file makes its descriptor readable."""
    path = tmp_path / "db.sqlite3.wakeup"
    waiter = FileWaiter(path)
    try:
        assert waiter.tick_seconds is None
        channel = waiter.fileno()
        assert channel is not None
        assert select.select([channel], [], [], 0) == ([], [], [])
        os.utime(path, ns=(1, 1))
        assert select.select([channel], [], [], 2)[0] == [channel]
        assert waiter.poll() is True
        assert select.select([channel], [], [], 0) == ([], [], [])
    finally:
        waiter.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify: Linux")
def test_the_file_waiter_follows_a_replaced_file(tmp_path: Path) -> None:
    """The file deleted and stamped anew: the waiter still wakes."""
    path = tmp_path / "db.sqlite3.wakeup"
    waiter = FileWaiter(path)
    try:
        path.unlink()
        assert waiter.poll() is True  # gone counts: look once
        os.utime(path, ns=(2, 2))
        channel = waiter.fileno()
        assert channel is not None
        assert select.select([channel], [], [], 2)[0] == [channel]
        assert waiter.poll() is True
    finally:
        waiter.close()


def test_request_stop_ends_the_wait_at_once(
    make_loop: Callable[..., WorkerLoop],
) -> None:
    """The signal handlers call request_stop: no tick to wait for."""
    loop = make_loop(waiter=NullWaiter())
    threading.Timer(0.05, loop.request_stop).start()
    started = time.monotonic()
    assert loop.wait(30) is True
    assert time.monotonic() - started < 0.3


@pytest.mark.django_db(transaction=True)
def test_a_notification_after_commit_wakes_a_waiter() -> None:
    """wakeup_notify(): the waiter sees it once, then nothing more."""
    waiter = make_waiter()
    try:
        assert waiter.poll() is False
        wakeup_notify()
        channel = waiter.fileno()
        if channel is not None:  # PostgreSQL: the socket itself wakes select()
            assert select.select([channel], [], [], 2)[0] == [channel]
        eventually(waiter.poll, timeout=2)
        assert waiter.poll() is False
    finally:
        waiter.close()


@pytest.mark.django_db(transaction=True)
def test_saving_a_job_or_queueing_a_run_wakes_workers(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """job_save (next_run_at changed) and job_run_now both notify."""
    waiter = make_waiter()
    try:
        waiter.poll()
        job = make_job()
        eventually(waiter.poll, timeout=2)
        job_run_now(job=job, requested_by=None, now=now)
        eventually(waiter.poll, timeout=2)
    finally:
        waiter.close()


def test_nothing_is_sent_before_commit(
    make_job: Callable[..., Job],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The wakeup waits for the transaction, so workers see the new rows."""
    with django_capture_on_commit_callbacks() as callbacks:
        make_job()
    assert len(callbacks) == 1
