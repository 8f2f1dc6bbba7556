"""The worker loop behind ``manage.py runworker``: scheduler and executor.

Each cycle heart-beats and recovers the runs of dead workers (when due),
stops runs whose cancel was requested, turns due slots into queued runs,
claims queued runs up to its free capacity and starts them in a bounded
thread pool. It then waits until the earliest due slot or retry, the poll
interval, or a wakeup (one of its runs finished, or the admin, the API or
another worker notified), whichever comes first.

Each step is a method that tests call alone with a fake clock; `run_forever`
only strings them together. Shutdown (the stop event): claiming stops,
running jobs get `grace_seconds` to finish, then their process groups are
stopped and each such run is recorded `lost` with a new attempt queued at
once (when its job retries lost runs) for any worker to pick up. A database
that refuses connections makes the loop log, back off and resume.
Runs start on spare supervisors forked ahead of need (`jobs.supervisor.pool`),
kept from the first cycle and let go when shutdown begins.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from django.db.models import Q

from jobportal import clock as portal_clock
from jobs import conf, selectors, supervisor
from jobs.models import JobRun, Worker
from jobs.policies import CAUSE_CANCEL, CAUSE_SHUTDOWN
from jobs.services import (
    claims,
    dependencies,
    due,
    events,
    leases,
    metrics,
    retention,
    workers,
)
from jobs.supervisor import pool as spares
from jobs.wakeup import Doorbell, Waiter, make_waiter
from jobs.worker.execution import (
    DB_ERRORS,
    InFlight,
    RunExecutor,
    backoff_seconds,
    close_connection,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How often running runs are checked for cancel requests (at most).
CANCEL_CHECK_SECONDS = 0.5
# How long a wait may miss a stop event set without `request_stop` (tests).
STOP_CHECK_SECONDS = 1.0
# Slots are recorded this long before their instant, so that at the instant
# only the claim is left to do (a queued run never starts before its slot).
PREPARE_SECONDS = 0.1
# After the grace period, how long stopped runs get to be recorded.
FINAL_RECORD_SECONDS = 10.0
# How often consumed and expired run events are deleted (at most): often
# while events flow, in small batches (a minute of them, 2,700 at 45/s,
# took one PostgreSQL prune 630 ms, and a slot falling due meanwhile waited
# for it); once a minute after a prune found nothing (an idle worker).
PRUNE_EVENTS_SECONDS = 5.0
PRUNE_EVENTS_IDLE_SECONDS = 60.0
PRUNE_EVENTS_MAX_BATCHES = 10
# How often ended runs are counted into the metrics rollups (at most): the
# dashboard lags the runs by about this much.
METRICS_SECONDS = 5.0
METRICS_MAX_BATCHES = 5
# Counting metrics waits while a slot or a queued run is due within this
# long: a batch can take a few hundred ms on a busy SQLite database, and the
# slot's claim would queue behind it.
HOUSEKEEPING_GUARD_SECONDS = 0.5


def default_worker_name() -> str:
    """Return "<host>-<pid>", unique among live workers."""
    return f"{socket.gethostname()}-{os.getpid()}"


class WorkerLoop:
    """Schedule due slots and execute runs until told to stop."""

    def __init__(
        self,
        *,
        stop: threading.Event,
        clock: Callable[[], datetime] = portal_clock.now,
        poll_seconds: float | None = None,
        concurrency: int | None = None,
        name: str | None = None,
        grace_seconds: float | None = None,
        lost_after_seconds: float | None = None,
        kill_grace_seconds: float = 5.0,
        output_interval_seconds: float = 1.0,
        python: str | None = None,
        waiter: Waiter | None = None,
        prepare_seconds: float = PREPARE_SECONDS,
    ) -> None:
        """Configure the loop; settings fill in what is not given."""
        self.stop = stop
        self.clock = clock
        self.poll_seconds = float(poll_seconds or conf.worker_poll_seconds())
        self.concurrency = int(concurrency or conf.worker_max_concurrent())
        self.name = name or default_worker_name()
        self.prepare = timedelta(seconds=prepare_seconds)
        if grace_seconds is None:
            grace_seconds = conf.worker_shutdown_grace_seconds()
        self.grace_seconds = float(grace_seconds)
        self.lost_after_seconds = float(
            lost_after_seconds or conf.worker_lost_after_seconds()
        )
        # Several heartbeats fit in the limit, so one late beat is no death.
        self.heartbeat_seconds = min(self.lost_after_seconds / 4, 10.0)
        self.worker: Worker | None = None
        self._waiter = waiter
        self._pool = ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix="run"
        )
        self._in_flight: dict[int, InFlight] = {}
        self._lock = threading.Lock()
        # Rung by the pool's threads when a run ends (capacity is free).
        self._doorbell = Doorbell()
        # Set once shutdown gives up on recording results.
        self._abandon = threading.Event()
        self.host = socket.gethostname()
        # Held while claiming and registering a run, and while looking for
        # runs marked running on this worker that it does not execute.
        self._claim_lock = threading.Lock()
        self.executor = RunExecutor(
            clock=clock,
            abandon=self._abandon,
            python=python,
            kill_grace_seconds=kill_grace_seconds,
            output_interval_seconds=output_interval_seconds,
            lease_seconds=self.lost_after_seconds,
            host=self.host,
            state_dir=str(conf.run_state_dir()),
        )
        self._beat_due_at: datetime | None = None
        # When (`time.monotonic`) the last heartbeat (or registration) was
        # written; claims wait for a fresh one (see `claim_runs`).
        self._beat_at: float | None = None
        self._prune_due_at: datetime | None = None
        self._retention_due_at: datetime | None = None
        self._metrics_due_at: datetime | None = None
        self._cancel_check_due_at = 0.0
        # When the last scheduling cycle finished (reported by heartbeats).
        self._cycle_at: datetime | None = None
        self._due_backlog = False
        # The next due slot the loop waits for (read by the notification
        # sender, which keeps the database free around it).
        self._next_due_at: datetime | None = None
        self._failures = 0

    # --- steps ---------------------------------------------------------------

    def register(self) -> Worker:
        """Create (or take over) this worker's row and start heart-beating.

        Raise WorkerNameInUse if a live process on this host has the name.
        """
        now = self.clock()
        at = time.monotonic()
        conf.run_state_dir().mkdir(parents=True, exist_ok=True)
        workers.worker_name_check(name=self.name, host=self.host, pid=os.getpid())
        self.worker = workers.worker_register(
            name=self.name, host=self.host, pid=os.getpid(), now=now
        )
        self._beat_at = at
        leases.runs_leftovers_end(host=self.host, now=now)
        return self.worker

    def heartbeat(self) -> None:
        """Record that this worker is alive (re-register if its row vanished).

        Renew the leases of the runs it executes, then hand back those marked
        running on it that it does not execute (after an outage, say).
        """
        now = self.clock()
        at = time.monotonic()
        if self.worker is None or not workers.worker_heartbeat(
            worker=self.worker, now=now, cycle_at=self._cycle_at
        ):
            self.register()
        self._beat_at = at
        self.renew_leases(now=now, at=at)
        self.hand_back_strays()
        self._beat_due_at = now + timedelta(seconds=self.heartbeat_seconds)

    def renew_leases(self, *, now: datetime, at: float) -> int:
        """Renew the leases of the runs in flight, then tell their supervisors.

        `at` is the `time.monotonic()` of `now`: a supervisor's fence counts
        from it, so it runs out before the lease written here does.
        """
        with self._lock:
            flights = list(self._in_flight.values())
        if not flights or self.worker is None:
            return 0
        renewed = leases.runs_lease_renew(
            worker=self.worker,
            run_ids=[flight.run_id for flight in flights],
            now=now,
            lease_seconds=self.lost_after_seconds,
        )
        for flight in flights:
            flight.lease.renewed_at = max(flight.lease.renewed_at, at)
        return renewed

    def hand_back_strays(self) -> list[int]:
        """Queue again the runs marked running here that no thread executes."""
        if self.worker is None:
            return []
        with self._claim_lock:
            with self._lock:
                known = set(self._in_flight)
            return leases.runs_hand_back_unknown(worker=self.worker, known=known)

    def recover_lost_runs(self) -> int:
        """Mark lost the runs of workers silent too long; return how many."""
        lost = workers.runs_recover_lost(
            now=self.clock(),
            lost_after_seconds=self.lost_after_seconds,
            exclude=self.worker,
            host=self.host,
        )
        return len(lost)

    def prune_run_events(self) -> int:
        """Delete run events consumed or past retention, every few seconds at most.

        One small batch at a time, and none while a slot is due soon (as
        `count_metrics`). After a step that found nothing, the next waits
        a minute.
        """
        now = self.clock()
        if self._prune_due_at is not None and now < self._prune_due_at:
            return 0
        self._prune_due_at = now + timedelta(seconds=PRUNE_EVENTS_IDLE_SECONDS)
        deleted = 0
        for _ in range(PRUNE_EVENTS_MAX_BATCHES):
            if self.is_work_due_within(HOUSEKEEPING_GUARD_SECONDS):
                self._prune_due_at = now
                break
            batch = events.run_events_prune(now=now, max_batches=1)
            deleted += batch
            if batch < events.PRUNE_BATCH:
                break
        if deleted:
            self._prune_due_at = now + timedelta(seconds=PRUNE_EVENTS_SECONDS)
        return deleted

    def apply_retention(self) -> int:
        """Apply retention, one batch, at most once per retention interval.

        Return how many runs were deleted or emptied.
        """
        now = self.clock()
        if self._retention_due_at is not None and now < self._retention_due_at:
            return 0
        interval = conf.retention_interval_seconds()
        self._retention_due_at = now + timedelta(seconds=interval)
        done = retention.retention_apply(now=now)
        return done.runs_deleted + done.outputs_trimmed

    def count_metrics(self) -> int:
        """Count ended runs into the metrics rollups, every few seconds at most."""
        now = self.clock()
        if self._metrics_due_at is not None and now < self._metrics_due_at:
            return 0
        self._metrics_due_at = now + timedelta(seconds=METRICS_SECONDS)
        # Nothing to count is one plain read, without the slot guard's two.
        if not events.run_events_waiting(consumer=metrics.CONSUMER, now=now):
            return 0
        counted = 0
        # A backlog (after downtime) is worked off a few batches per cycle.
        for _ in range(METRICS_MAX_BATCHES):
            if self.is_work_due_within(HOUSEKEEPING_GUARD_SECONDS):
                # Try again next cycle, after the slot.
                self._metrics_due_at = now
                break
            batch = metrics.metrics_consume(now=now)
            counted += batch
            if batch < metrics.CONSUME_BATCH:
                break
        return counted

    def is_work_due_within(self, seconds: float) -> bool:
        """Return whether a slot or a queued run is due within `seconds`.

        Work that fell due less than `seconds` ago counts too: a run whose
        slot came while this cycle was past its claim is still to be claimed
        (one waiting longer, for free capacity, does not hold counting up).
        """
        now = self.clock()
        since = now - timedelta(seconds=seconds)
        next_at = selectors.next_due_at(after=since, lead=self.prepare)
        return next_at is not None and (next_at - now).total_seconds() <= seconds

    def queue_dependents(self) -> int:
        """Queue (or skip) the jobs that depend on runs that ended; return events.

        Reads run events as the "dependencies" consumer, so that each
        upstream end is handled once by one worker.
        """
        return dependencies.dependency_events_process(now=self.clock())

    def schedule_due_slots(self, *, max_batches: int | None = None) -> int:
        """Turn due slots into queued (or skipped) runs; return how many slots.

        Stop after `max_batches` batches of due jobs, leaving the rest for
        the next cycle (so that claiming is not held up by a long backlog).
        """
        recorded = batches = 0
        while max_batches is None or batches < max_batches:
            now = self.clock()
            batch = due.slots_schedule_due(now=now, horizon=now + self.prepare)
            recorded += batch.slots
            batches += 1
            self._due_backlog = batch.is_behind
            if not self._due_backlog:
                break
        return recorded

    def claim_runs(self, limit: int) -> list[JobRun]:
        """Claim up to `limit` startable queued runs for this worker.

        Nothing while this worker's last heartbeat is older than half the
        lost-after limit (it was stopped or stalled): other workers may be
        taking its runs over as lost right now, and would end a run claimed
        meanwhile (on this host) or retry it. The loop heart-beats first.
        """
        if self.worker is None:
            self.register()
        assert self.worker is not None  # noqa: S101 - register() sets it
        if self.is_heartbeat_stale():
            return []
        return claims.runs_claim(
            worker=self.worker,
            now=self.clock(),
            limit=limit,
            lease_seconds=self.lost_after_seconds,
        )

    def is_heartbeat_stale(self) -> bool:
        """Return whether the last heartbeat is older than half lost-after."""
        if self._beat_at is None:
            return True
        return time.monotonic() - self._beat_at > self.lost_after_seconds / 2

    def free_capacity(self) -> int:
        """Return how many more runs this worker may execute now."""
        with self._lock:
            return self.concurrency - len(self._in_flight)

    def start_runs(self, claimed: Iterable[JobRun]) -> int:
        """Execute claimed runs in the thread pool; return how many started."""
        count = 0
        for run in claimed:
            flight = InFlight(run_id=run.pk)
            with self._lock:
                self._in_flight[run.pk] = flight
            flight.future = self._pool.submit(self._execute_in_pool, run, flight)
            flight.future.add_done_callback(partial(self._log_crash, run.pk))
            count += 1
        return count

    def check_cancellations(self) -> int:
        """Stop own runs that were cancelled, replaced or taken away."""
        self._cancel_check_due_at = time.monotonic() + CANCEL_CHECK_SECONDS
        with self._lock:
            ids = [
                pk
                for pk, f in self._in_flight.items()
                if not (f.cancel.is_set() or f.finished)
            ]
        if not ids:
            return 0
        gone = JobRun.objects.filter(pk__in=ids).filter(
            Q(cancel_requested_at__isnull=False)
            | ~Q(status=JobRun.Status.RUNNING)
            | ~Q(worker=self.worker)
        )
        stopped = 0
        for pk in gone.values_list("pk", flat=True):
            with self._lock:
                flight = self._in_flight.get(pk)
            if flight is not None and not flight.finished:
                flight.cause = flight.cause or CAUSE_CANCEL
                flight.cancel.set()
                logger.info("Stopping run %s: cancel requested", pk)
                stopped += 1
        return stopped

    def execute_run(self, run: JobRun, *, flight: InFlight | None = None) -> None:
        """Execute one claimed run in this thread and record it; never raise."""
        assert self.worker is not None  # noqa: S101 - only claimed runs execute
        self.executor.execute(
            run, worker=self.worker, flight=flight or InFlight(run_id=run.pk)
        )

    def run_once(self) -> float:
        """Do one cycle; return how long to wait before the next (0: at once)."""
        if self.worker is None:
            self.register()
        if self._beat_due_at is None or self.clock() >= self._beat_due_at:
            self.heartbeat()
            self.recover_lost_runs()
            self.apply_retention()
        if time.monotonic() >= self._cancel_check_due_at:
            self.check_cancellations()
        if self.stop.is_set():
            return 0.0
        self.schedule_due_slots(max_batches=1)
        if self.is_heartbeat_stale():
            # A slow cycle (a loaded machine, a tiny lost-after): beat first.
            self.heartbeat()
        claimed_at = self.clock()
        self.start_runs(self.claim_runs(self.free_capacity()))
        # After the claim: a run due at this instant does not wait for the
        # ended runs' dependents (a few ms per batch while runs end at a
        # steady rate); those queued now are claimed in this cycle too.
        if self.queue_dependents():
            self.start_runs(self.claim_runs(self.free_capacity()))
        self.count_metrics()
        self.prune_run_events()
        self._cycle_at = self.clock()
        if self._due_backlog:
            return 0.0
        if self.free_capacity() <= 0:
            # Nothing can start before a run ends, and a run ending rings
            # the doorbell: no need to look for the next due instant.
            return CANCEL_CHECK_SECONDS
        return self.seconds_until_next(since=claimed_at)

    def seconds_until_next(self, *, since: datetime | None = None) -> float:
        """Return how long the loop may wait before something is due.

        `since` (the instant the cycle's claim looked from): work that fell
        due after it counts too, and is due at once. A queued run whose
        instant came while the cycle was past its claim (counting metrics,
        say) was otherwise left for the next wakeup: a slot 0.7 s late.
        """
        now = self.clock()
        waits = [self.poll_seconds]
        next_at = selectors.next_due_at(after=min(since or now, now), lead=self.prepare)
        self._next_due_at = next_at
        if next_at is not None:
            waits.append((next_at - now).total_seconds())
        if self._beat_due_at is not None:
            waits.append((self._beat_due_at - now).total_seconds())
        with self._lock:
            if self._in_flight:
                waits.append(CANCEL_CHECK_SECONDS)
        return max(0.0, min(waits))

    def seconds_to_next_slot(self) -> float | None:
        """Return how soon the next slot the loop knows of is due (None: none).

        Negative once it is due and not yet taken. Other threads of the
        worker (the notification sender) read it to stay out of the way.
        """
        next_at = self._next_due_at
        if next_at is None:
            return None
        return (next_at - self.clock()).total_seconds()

    def request_stop(self) -> None:
        """Stop the loop: set the stop event and wake the loop at once.

        Safe in a signal handler (it only sets an event and writes a byte).
        """
        self.stop.set()
        self._doorbell.ring()

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds`; return True if woken early (or stopped).

        Wakes at once when one of this worker's runs ends, a stop is
        requested or a wakeup arrives (PostgreSQL: a notification; SQLite: the
        wakeup file, watched with inotify or looked at every tick).
        """
        deadline = time.monotonic() + seconds
        while not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            fds = [self._doorbell.fileno()]
            channel = self.waiter.fileno()
            if channel is not None:
                fds.append(channel)
            ticks = [remaining, STOP_CHECK_SECONDS, self.waiter.tick_seconds]
            select.select(fds, [], [], min(t for t in ticks if t is not None))
            # Both are read, so that neither wakes the next wait for nothing.
            rang = self._doorbell.answer()
            if self.waiter.poll() or rang:
                return True
        return True

    @property
    def waiter(self) -> Waiter:
        """Return the wakeup channel, created on first use."""
        if self._waiter is None:
            self._waiter = make_waiter()
        return self._waiter

    # --- the loops -----------------------------------------------------------

    def run_forever(self) -> None:
        """Cycle until the stop event is set, then shut down gracefully."""
        logger.info(
            "Worker %s started: concurrency %s, poll %s s",
            self.name,
            self.concurrency,
            self.poll_seconds,
        )
        # Listen before the first cycle reads anything, so that no change
        # made while it runs goes unnoticed.
        self.waiter.poll()
        self._start_spares()
        try:
            while not self.stop.is_set():
                seconds = self.guarded(self.run_once)
                if seconds:
                    self.wait(seconds)
        finally:
            self.shutdown()

    def drain(self) -> None:
        """Process what is due now, wait for those runs, then shut down."""
        self._start_spares()
        try:
            while not self.stop.is_set():
                if self.guarded(self._drain_schedule) is not None:
                    break
            while not self.stop.is_set():
                busy = self.guarded(self._drain_step)
                if busy is False:
                    break
                if busy:
                    self.wait(CANCEL_CHECK_SECONDS)
        finally:
            self.shutdown()

    def guarded(self, step: Callable[[], T]) -> T | None:
        """Run `step`; on a database outage log, back off and return None."""
        try:
            result = step()
        except DB_ERRORS as exc:
            self._failures += 1
            delay = backoff_seconds(self._failures)
            logger.warning("Database unavailable (%s); retrying in %.1f s", exc, delay)
            close_connection()
            self.stop.wait(delay)
            return None
        if self._failures:
            logger.info("Database reachable again after %s failures", self._failures)
            self._failures = 0
        return result

    def shutdown(self) -> None:
        """Stop claiming; give running jobs the grace period, then stop them."""
        # Also when the loop ended on an error rather than the stop event:
        # the pool's threads must not claim more runs once heartbeats stop
        # (other workers would take those over while they run here).
        self.stop.set()
        # No run starts from now on: the spare supervisors may go.
        spares.pool_stop()
        deadline = time.monotonic() + self.grace_seconds
        if self._in_flight:
            logger.info(
                "Worker %s stopping: %s running job(s) get %.1f s to finish",
                self.name,
                len(self._in_flight),
                self.grace_seconds,
            )
        while self._in_flight and time.monotonic() < deadline:
            self._doorbell.wait(min(CANCEL_CHECK_SECONDS, deadline - time.monotonic()))
            if self._beat_due_at is None or self.clock() >= self._beat_due_at:
                self.guarded(self.heartbeat)
            self.guarded(self.check_cancellations)
        with self._lock:
            left = list(self._in_flight.values())
        for flight in left:
            flight.cause = flight.cause or CAUSE_SHUTDOWN
            flight.cancel.set()
        futures = [f.future for f in left if f.future is not None]
        if futures:
            logger.info("Stopping %s run(s) still running", len(futures))
            timeout = self.executor.kill_grace_seconds + FINAL_RECORD_SECONDS
            wait_futures(futures, timeout=timeout)
        self._abandon.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.worker is not None:
            worker = self.worker
            self.guarded(lambda: workers.worker_stop(worker=worker, now=self.clock()))
        if self._waiter is not None:
            self._waiter.close()
        self._doorbell.close()
        logger.info("Worker %s stopped", self.name)

    # --- internals -----------------------------------------------------------

    def _start_spares(self) -> None:
        """Keep spare supervisors for the runs, where runs can be supervised."""
        if supervisor.unsupported_reason() is None:
            spares.pool_start(self.concurrency)

    def _drain_schedule(self) -> int:
        if self.worker is None:
            self.register()
        self.heartbeat()
        self.recover_lost_runs()
        return self.schedule_due_slots()

    def _drain_step(self) -> bool:
        """Start what can start; return False once nothing runs or waits."""
        if self._beat_due_at is None or self.clock() >= self._beat_due_at:
            self.heartbeat()
        self.check_cancellations()
        self.queue_dependents()
        if self.is_heartbeat_stale():
            self.heartbeat()
        started = self.start_runs(self.claim_runs(self.free_capacity()))
        with self._lock:
            return bool(started or self._in_flight)

    def _execute_in_pool(self, run: JobRun, flight: InFlight) -> None:
        """Execute `run`, then claim and execute runs in its slot while any wait.

        Going on in the same thread spares each queued run the hop through
        the loop: under a backlog, a slot is refilled the moment it frees.
        The slot stays taken (in `_in_flight`) until nothing more is claimed.
        """
        current = run
        try:
            while True:
                self.execute_run(current, flight=flight)
                flight.finished = True
                with self._claim_lock:
                    following = self._claim_following()
                    if following is None:
                        return
                    with self._lock:
                        self._forget(flight)
                        flight = InFlight(run_id=following.pk, future=flight.future)
                        self._in_flight[following.pk] = flight
                current = following
        finally:
            with self._lock:
                self._forget(flight)
            self._doorbell.ring()

    def _forget(self, flight: InFlight) -> None:
        """Drop `flight` from the runs in flight (call holding `_lock`).

        Only if it is still the entry for its run: a run handed back (a
        lost claim, say) may have been claimed again by another thread of
        this worker, whose flight then holds the run's id; dropping that
        one would have the heartbeat hand the run back while it executes.
        """
        if self._in_flight.get(flight.run_id) is flight:
            del self._in_flight[flight.run_id]

    def _claim_following(self) -> JobRun | None:
        """Claim one run for a slot that just freed, unless stopping."""
        if self.stop.is_set() or self._abandon.is_set():
            return None
        try:
            claimed = self.claim_runs(1)
        except DB_ERRORS as exc:
            logger.warning("Could not claim the next run (%s); the loop will", exc)
            close_connection()
            return None
        return claimed[0] if claimed else None

    def _log_crash(self, run_id: int, future: Future[None]) -> None:
        exc = future.exception() if not future.cancelled() else None
        if exc is not None:
            logger.error("Run %s could not be recorded: %r", run_id, exc)
