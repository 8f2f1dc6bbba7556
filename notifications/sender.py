"""The notification sender: the loop of the worker's sender process.

Each step reads run events into the outbox (`services.outbox`), rolls held
back rows into digests, leases a small batch of due rows and sends them
(`services.delivery`). Sending is network I/O with a bounded timeout per
message; ``runworker`` runs this loop in a child process of its own
(`notifications.sender_process`), so the worker's scheduling loop never
waits for a mail server nor for the CPU that sending takes. Between steps
it waits on its stop event: briefly while there is more work, else up to
`poll_seconds`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from django.db import DatabaseError, close_old_connections, connection

from jobportal import clock as portal_clock
from jobs import conf, selectors
from notifications.services import channels, delivery, outbox

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
BATCH = 20
BUSY_PAUSE_SECONDS = 0.05
# A batch starts only if no slot is due within this long; after a slot the
# sender waits this much more, while the scheduler claims and starts the run.
SLOT_GUARD_SECONDS = 0.12
SLOT_AFTER_SECONDS = 0.1
# After a database error, the sender waits this long before trying again.
ERROR_PAUSE_SECONDS = 5.0
# How often the sender looks for rows leased by dead workers (at most).
ORPHANS_SECONDS = 1.0


class NotificationSender:
    """Consume run events and deliver notifications until stopped."""

    def __init__(
        self,
        *,
        stop: threading.Event,
        clock: Callable[[], datetime] = portal_clock.now,
        poll_seconds: float = POLL_SECONDS,
        batch: int = BATCH,
        next_slot: Callable[[], float | None] | None = None,
        worker_id: Callable[[], int | None] | None = None,
    ) -> None:
        """Keep the stop event, the clock, the batch size and the probes.

        `next_slot` returns the seconds until the scheduler's next slot
        (`WorkerLoop.seconds_to_next_slot`); the sender holds off around it.
        `worker_id` returns the worker's row id once registered: leases then
        name it, so that other workers release them should this one die.
        """
        self.next_slot = next_slot
        self.worker_id = worker_id
        self.process_token = uuid.uuid4().hex
        self._orphans_due_at = 0.0
        self._is_worker_fresh = True
        # Whether the last step found work (the slot probe is asked only then).
        self.is_busy = False
        # The monotonic instant of the slot the last probe found.
        self._slot_at: float | None = None
        self.stop = stop
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._thread: threading.Thread | None = None

    def yield_seconds(self) -> float:
        """Return how long to hold off so that a slot due soon starts on time.

        Around a slot's instant the scheduler records, claims and starts the
        run: a sender batch then holds the database (SQLite has one writer)
        or the CPUs that the scheduler's steps and its database need (its
        sends: rendering, signing, HTTP), and the run starts late. Asked only
        while busy: when idle, a step writes next to nothing, and the probe
        costs queries. The slot is remembered for `hold_known`.
        """
        if self.next_slot is None or not self.is_busy:
            return 0.0
        seconds = self.next_slot()
        self._slot_at = None if seconds is None else time.monotonic() + seconds
        if seconds is None or seconds > SLOT_GUARD_SECONDS:
            return 0.0
        return max(0.0, seconds) + SLOT_AFTER_SECONDS

    def hold(self) -> None:
        """Wait while a slot is due soon (`yield_seconds`), before writing."""
        seconds = self.yield_seconds()
        if seconds:
            self.stop.wait(seconds)

    def hold_known(self) -> None:
        """Wait around the slot the last probe found, asking nothing.

        Before each send: a batch of sends outlasts the guard, and a probe
        per send would cost the database more than the hold saves.
        """
        if self._slot_at is None:
            return
        seconds = self._slot_at - time.monotonic()
        if -SLOT_AFTER_SECONDS < seconds <= SLOT_GUARD_SECONDS:
            self.stop.wait(seconds + SLOT_AFTER_SECONDS)

    def holder(self) -> str:
        """Return this process's lease prefix ("" before the worker registers)."""
        worker_id = self.worker_id() if self.worker_id is not None else None
        if worker_id is None:
            return ""
        return delivery.lease_holder(
            worker_id=worker_id, process_token=self.process_token
        )

    def run_once(self) -> int:
        """Do one step; return how much work it found (0: idle).

        Only its writes wait while a slot is due (`hold`): the sends, most
        of its time, go on meanwhile.
        """
        self.hold()
        now = self.clock()
        channels.default_webhook_ensure(now=now)
        found = outbox.notifications_consume(now=now)
        found += delivery.digests_queue(now=now)
        holder = self.holder()
        if holder and time.monotonic() >= self._orphans_due_at:
            self._orphans_due_at = time.monotonic() + ORPHANS_SECONDS
            lost_after = conf.worker_lost_after_seconds()
            found += delivery.notifications_release_orphans(
                now=now, holder=holder, lost_after_seconds=lost_after
            )
            # A worker stopped (SIGSTOP) or hung past half the limit will
            # soon count as dead and see its leases released: its sender,
            # a process of its own that still runs, leases nothing more.
            self._is_worker_fresh = delivery.worker_is_fresh(
                holder=holder, now=now, within_seconds=lost_after / 2
            )
        leased = []
        if self._is_worker_fresh:
            leased = delivery.notifications_lease(
                now=self.clock(), limit=self.batch, holder=holder
            )
        if leased:
            self.is_busy = True
            delivery.notifications_deliver(
                leased,
                clock=self.clock,
                stop=self.stop,
                before_send=self.hold_known,
                before_record=self.hold,
            )
        self.is_busy = bool(found or leased)
        return found + len(leased)

    def run_forever(self) -> None:
        """Step until the stop event is set; never raise."""
        logger.info("Notification sender started")
        try:
            while not self.stop.is_set():
                close_old_connections()
                try:
                    busy = self.run_once()
                except DatabaseError as exc:
                    logger.warning("Notification sender: database error (%s)", exc)
                    connection.close()
                    self.stop.wait(ERROR_PAUSE_SECONDS)
                    continue
                # Even when busy, pause a little: the scheduler's writes get
                # the database between two batches (SQLite has one writer).
                self.stop.wait(BUSY_PAUSE_SECONDS if busy else self.poll_seconds)
        finally:
            connection.close()
            logger.info("Notification sender stopped")

    def start(self) -> threading.Thread:
        """Run `run_forever` in a daemon thread of its own and return it.

        For tests and embedding; ``runworker`` uses a process
        (`notifications.sender_process`).
        """
        self._thread = threading.Thread(
            target=self.run_forever, name="notifications", daemon=True
        )
        self._thread.start()
        return self._thread

    def join(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the thread to end."""
        if self._thread is not None:
            self._thread.join(timeout)


def next_slot_from_database() -> float | None:
    """Return the seconds until the next slot or queued run is due (None: none).

    The sender process's probe (it cannot read the worker loop's memory):
    two indexed queries (`selectors.next_due_at`).
    """
    now = portal_clock.now()
    next_at = selectors.next_due_at(after=now)
    return None if next_at is None else (next_at - now).total_seconds()
