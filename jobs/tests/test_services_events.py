"""Reading run events: claims, leases, acks, consumers and retention."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.checks import run_checks
from django.db import connection, transaction
from django.db.models.signals import post_delete, pre_delete
from django.test.utils import CaptureQueriesContext

from jobs.checks import MSG_NUMBER
from jobs.models import Job, JobRun, RunEvent, RunEventConsumer, RunEventReceipt
from jobs.services import events
from jobs.services.events import (
    run_event_consumer_register,
    run_events_ack,
    run_events_claim,
    run_events_prune,
)
from jobs.services.runs import job_run_now, run_request_cancel
from jobs.tests.conftest import FakeClock
from jobs.worker import WorkerLoop
from jobs.worker import loop as loop_module
from jobs.worker.loop import (
    HOUSEKEEPING_GUARD_SECONDS,
    PRUNE_EVENTS_IDLE_SECONDS,
    PRUNE_EVENTS_SECONDS,
)

pytestmark = pytest.mark.django_db

LEASE = 60.0


@pytest.fixture(autouse=True)
def _only_own_consumers(db: None) -> None:
    """Start without the consumers that features register in migrations.

    These tests name their own consumers; retention waits for every
    registered one.
    """
    RunEventConsumer.objects.all().delete()


def ended_runs(job: Job, now: datetime, count: int) -> list[int]:
    """End `count` runs of `job` (cancelled while queued); return event ids."""
    for n in range(count):
        run = job_run_now(job=job, requested_by=None, now=now + timedelta(seconds=n))
        run_request_cancel(run=run, requested_by=None, now=now)
    return list(RunEvent.objects.order_by("pk").values_list("pk", flat=True))


def claim(consumer: str, at: datetime, limit: int = 10) -> list[int]:
    """Claim for `consumer` at `at`; return the event ids."""
    claimed = run_events_claim(
        consumer=consumer, limit=limit, now=at, lease_seconds=LEASE
    )
    return [event.pk for event in claimed]


def test_a_claim_returns_unread_events_oldest_first(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """Up to `limit` events, in order; the rest at the next claim."""
    ids = ended_runs(make_job(), now, 3)
    assert claim("metrics", now, limit=2) == ids[:2]
    assert claim("metrics", now, limit=2) == ids[2:]
    assert claim("metrics", now) == []


def test_an_unacked_claim_comes_back_after_its_lease(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """A consumer that died: its events return once the lease is over."""
    ids = ended_runs(make_job(), now, 2)
    assert claim("metrics", now) == ids
    assert claim("metrics", now + timedelta(seconds=LEASE - 1)) == []
    assert claim("metrics", now + timedelta(seconds=LEASE)) == ids


def test_an_acked_event_never_comes_back(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """Ack is final: not after the lease, not ever."""
    ids = ended_runs(make_job(), now, 2)
    claim("metrics", now)
    assert run_events_ack(consumer="metrics", event_ids=ids[:1], now=now) == 1
    later = now + timedelta(days=1)
    assert claim("metrics", later) == ids[1:]
    assert run_events_ack(consumer="metrics", event_ids=ids, now=later) == 1
    assert claim("metrics", later + timedelta(days=1)) == []


def test_a_claim_with_nothing_to_take_is_one_statement(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """Consumers ask every cycle, mostly for nothing: one plain read then."""
    ids = ended_runs(make_job(), now, 2)
    assert claim("metrics", now) == ids  # registers, then leases both
    with CaptureQueriesContext(connection) as leased:
        assert claim("metrics", now + timedelta(seconds=LEASE - 1)) == []
    run_events_ack(consumer="metrics", event_ids=ids, now=now)
    with CaptureQueriesContext(connection) as acked:
        assert claim("metrics", now + timedelta(days=1)) == []
    assert (len(leased), len(acked)) == (1, 1)


def test_acking_twice_counts_once(make_job: Callable[..., Job], now: datetime) -> None:
    """A second ack of the same event acks nothing: the caller can tell."""
    ids = ended_runs(make_job(), now, 1)
    claim("metrics", now)
    assert run_events_ack(consumer="metrics", event_ids=ids, now=now) == 1
    assert run_events_ack(consumer="metrics", event_ids=ids, now=now) == 0


def test_an_ack_inside_the_consumers_transaction_rolls_back_with_it(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """The consumer's own write fails: the ack is undone, the event returns."""
    ids = ended_runs(make_job(), now, 1)
    claim("notifications", now)

    def handle() -> None:
        with transaction.atomic():
            run_events_ack(consumer="notifications", event_ids=ids, now=now)
            raise RuntimeError("the outbox write failed")

    with pytest.raises(RuntimeError, match="outbox"):
        handle()
    assert claim("notifications", now + timedelta(seconds=LEASE)) == ids


def test_consumers_read_independently(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """One consumer's claims and acks do not touch another's."""
    ids = ended_runs(make_job(), now, 2)
    assert claim("metrics", now) == ids
    run_events_ack(consumer="metrics", event_ids=ids, now=now)
    assert claim("notifications", now) == ids
    assert claim("metrics", now + timedelta(days=1)) == []


def test_claiming_registers_the_consumer(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """A consumer's first claim registers it for retention."""
    # Consumers registered by migrations (notifications) are there already.
    before = set(RunEventConsumer.objects.values_list("name", flat=True))
    ended_runs(make_job(), now, 1)
    claim("metrics", now)
    after = set(RunEventConsumer.objects.values_list("name", flat=True))
    assert after - before == {"metrics"}


def test_an_expired_lease_is_retaken_once(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """Two claimers after the lease: the first takes it, the second gets none."""
    ids = ended_runs(make_job(), now, 1)
    claim("metrics", now)
    later = now + timedelta(seconds=LEASE)
    assert claim("metrics", later) == ids
    assert claim("metrics", later) == []


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's one writer orders registration and event writes alone",
)
@pytest.mark.django_db(transaction=True)
def test_a_consumer_registered_while_an_event_is_written_reads_that_event(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """The event's transaction has written its receipts, not yet committed.

    A consumer registered meanwhile would get neither a receipt from that
    transaction (it was not registered yet) nor from its own copy of the
    kept events (the event was not committed yet): registering waits for
    the event's commit, then its first claim reads the event.
    """
    job = make_job()
    run = job_run_now(job=job, requested_by=None, now=now)
    written, registered = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def register_late() -> None:
        try:
            written.wait(timeout=30)
            run_event_consumer_register(name="late-reader", now=now)
            registered.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=register_late)
    thread.start()
    with transaction.atomic():
        run_request_cancel(run=run, requested_by=None, now=now)
        written.set()
        assert _wait_until_blocked_or(registered, timeout=30)
        # Still waiting: the registration cannot finish before this commits.
        assert not registered.is_set()
    thread.join(timeout=30)
    assert not errors
    assert registered.is_set()
    assert claim("late-reader", now) == list(
        RunEvent.objects.values_list("pk", flat=True)
    )


def _wait_until_blocked_or(done: threading.Event, *, timeout: float) -> bool:
    """Wait until another session of this database waits for a lock, or `done`."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            if done.wait(timeout=0.05):
                return True
            cursor.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a"
                " ON a.pid = l.pid"
                " WHERE NOT l.granted AND a.datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return True
    return False


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's one writer cannot claim while retention deletes",
)
@pytest.mark.django_db(transaction=True)
def test_an_event_claimed_while_being_pruned_stays_for_the_next_prune(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """A claim commits a receipt between retention's reads and its delete.

    The foreign key fails at retention's commit (it used to end the
    worker's loop): nothing of the batch is deleted, and no error escapes.
    """
    ids = ended_runs(make_job(), now, 1)
    late = [True]

    def claim_meanwhile(**kwargs: Any) -> None:
        if not late:
            return
        late.clear()

        def claimer() -> None:
            try:
                claim("late-reader", now)
            finally:
                connection.close()

        thread = threading.Thread(target=claimer)
        thread.start()
        thread.join(timeout=30)

    def keep(**kwargs: Any) -> None:
        """Make the receipts be read before they are deleted (no fast delete)."""

    # Deleted by age (a day past a one-day retention). The late claim
    # commits after retention read the events' receipts, before it deletes
    # the events (in production: between its two DELETE statements).
    post_delete.connect(keep, sender=RunEventReceipt, weak=False)
    pre_delete.connect(claim_meanwhile, sender=RunEvent, weak=False)
    try:
        assert run_events_prune(now=now + timedelta(days=2), retention_days=1) == 0
    finally:
        pre_delete.disconnect(claim_meanwhile, sender=RunEvent)
        post_delete.disconnect(keep, sender=RunEventReceipt)
    assert list(RunEvent.objects.values_list("pk", flat=True)) == ids


@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_of_one_consumer_get_disjoint_events(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """Four threads claim 3 at a time, at once: every event exactly once."""
    ids = ended_runs(make_job(), now, 24)
    start = threading.Barrier(4)
    got: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def claimer(index: int) -> None:
        try:
            start.wait(timeout=10)
            while batch := claim("metrics", now, limit=3):
                got[index] += batch
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(pk for batch in got for pk in batch) == ids
    assert RunEventReceipt.objects.count() == len(ids)


# --- retention ------------------------------------------------------------------


def test_retention_deletes_events_every_consumer_acked(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """Acked by both registered consumers: gone; acked by one: kept."""
    ids = ended_runs(make_job(), now, 2)
    run_event_consumer_register(name="notifications", now=now)
    claim("metrics", now)
    claim("notifications", now)
    run_events_ack(consumer="metrics", event_ids=ids, now=now)
    run_events_ack(consumer="notifications", event_ids=ids[:1], now=now)
    assert run_events_prune(now=now, retention_days=7) == 1
    assert list(RunEvent.objects.values_list("pk", flat=True)) == ids[1:]


def test_retention_waits_for_a_registered_consumer_that_never_claimed(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """A registered consumer has not read them yet: the events stay."""
    ids = ended_runs(make_job(), now, 1)
    run_event_consumer_register(name="notifications", now=now)
    claim("metrics", now)
    run_events_ack(consumer="metrics", event_ids=ids, now=now)
    assert run_events_prune(now=now, retention_days=7) == 0


def test_retention_deletes_events_older_than_the_setting(
    make_job: Callable[..., Job], now: datetime, settings: Any
) -> None:
    """Unread or not, an event goes JOB_PORTAL_RUN_EVENT_RETENTION_DAYS later."""
    settings.JOB_PORTAL_RUN_EVENT_RETENTION_DAYS = 2
    ended_runs(make_job(), now, 2)
    claim("metrics", now)
    assert run_events_prune(now=now + timedelta(days=2)) == 0
    assert run_events_prune(now=now + timedelta(days=2, seconds=1)) == 2
    assert RunEventReceipt.objects.count() == 0


def test_retention_works_in_bounded_batches(
    make_job: Callable[..., Job], now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of PRUNE_BATCH, at most PRUNE_MAX_BATCHES per step."""
    monkeypatch.setattr(events, "PRUNE_BATCH", 2)
    monkeypatch.setattr(events, "PRUNE_MAX_BATCHES", 2)
    ended_runs(make_job(), now, 5)
    later = now + timedelta(days=30)
    assert run_events_prune(now=later, retention_days=1) == 4
    assert run_events_prune(now=later, retention_days=1) == 1


def test_the_worker_prunes_every_few_seconds_at_most(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock, settings: Any
) -> None:
    """A cycle's step: events past retention go, then not again for a while."""
    settings.JOB_PORTAL_RUN_EVENT_RETENTION_DAYS = 1
    ended_runs(make_job(), clock.now - timedelta(days=3), 1)
    RunEvent.objects.update(at=clock.now - timedelta(days=2))
    assert loop.prune_run_events() == 1
    ended_runs(make_job("second"), clock.now, 1)
    RunEvent.objects.update(at=clock.now - timedelta(days=2))
    assert loop.prune_run_events() == 0
    clock.advance(PRUNE_EVENTS_SECONDS)
    assert loop.prune_run_events() == 1


def test_an_idle_worker_prunes_once_a_minute(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock, settings: Any
) -> None:
    """A step that found nothing: the next looks a minute later (idle CPU)."""
    settings.JOB_PORTAL_RUN_EVENT_RETENTION_DAYS = 1
    assert loop.prune_run_events() == 0
    # Hourly: no slot of it falls due within the minute.
    job = make_job(schedules=[{"type": "interval", "seconds": 3600}])
    ended_runs(job, clock.now - timedelta(days=3), 1)
    RunEvent.objects.update(at=clock.now - timedelta(days=2))
    clock.advance(PRUNE_EVENTS_SECONDS)
    assert loop.prune_run_events() == 0
    clock.advance(PRUNE_EVENTS_IDLE_SECONDS - PRUNE_EVENTS_SECONDS)
    assert loop.prune_run_events() == 1


def test_the_worker_prunes_in_bounded_batches(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At most PRUNE_EVENTS_MAX_BATCHES small batches per step; the rest later."""
    monkeypatch.setattr(events, "PRUNE_BATCH", 2)
    monkeypatch.setattr(loop_module, "PRUNE_EVENTS_MAX_BATCHES", 2)
    ended_runs(make_job(), clock.now - timedelta(days=30), 5)
    assert loop.prune_run_events() == 4
    clock.advance(PRUNE_EVENTS_SECONDS)
    assert loop.prune_run_events() == 1


def test_the_worker_prunes_nothing_while_a_slot_is_about_to_fire(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """A slot due within the guard goes first; pruning follows right after.

    A long prune (a minute of events flowing took 630 ms on PostgreSQL)
    made the slot that fell due meanwhile that late.
    """
    ended_runs(make_job(), clock.now - timedelta(days=30), 1)
    soon = clock() + timedelta(seconds=HOUSEKEEPING_GUARD_SECONDS / 2)
    Job.objects.filter(pk=make_job("second").pk).update(next_run_at=soon)
    assert loop.prune_run_events() == 0
    clock.advance(HOUSEKEEPING_GUARD_SECONDS * 2)
    assert loop.prune_run_events() == 1


def test_a_bad_retention_setting_is_a_system_check_error(settings: Any) -> None:
    """0 days (or not a number) is reported like the other numbers."""
    settings.JOB_PORTAL_RUN_EVENT_RETENTION_DAYS = 0
    errors = [e for e in run_checks() if e.id == "jobs.E003"]
    assert [e.msg for e in errors if "RETENTION" in e.msg] == [
        MSG_NUMBER.format(
            name="JOB_PORTAL_RUN_EVENT_RETENTION_DAYS",
            rule="of whole days, at least 1",
            value=0,
        )
    ]


def test_events_go_with_their_run(make_job: Callable[..., Job], now: datetime) -> None:
    """Deleting a run (or its job) deletes its events and receipts."""
    job = make_job()
    ended_runs(job, now, 1)
    claim("metrics", now)
    JobRun.objects.filter(job=job).delete()
    assert RunEvent.objects.count() == RunEventReceipt.objects.count() == 0
