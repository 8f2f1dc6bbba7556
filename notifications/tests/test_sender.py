"""The sender thread: holds off around the scheduler's slots, stops on time."""

from __future__ import annotations

import threading
import time

import pytest

from notifications.sender import (
    SLOT_AFTER_SECONDS,
    SLOT_GUARD_SECONDS,
    NotificationSender,
)


@pytest.mark.parametrize(
    ("next_slot", "hold"),
    [
        (None, 0.0),
        (SLOT_GUARD_SECONDS + 0.5, 0.0),
        (SLOT_GUARD_SECONDS / 2, SLOT_GUARD_SECONDS / 2 + SLOT_AFTER_SECONDS),
        (-0.05, SLOT_AFTER_SECONDS),
    ],
)
def test_the_sender_holds_off_only_when_a_slot_is_due_soon(
    next_slot: float | None, hold: float
) -> None:
    """Far or no slot: no wait; a slot within the guard: until just after it."""
    sender = NotificationSender(stop=threading.Event(), next_slot=lambda: next_slot)
    sender.is_busy = True
    assert sender.yield_seconds() == pytest.approx(hold)


def test_an_idle_sender_does_not_ask_for_the_next_slot() -> None:
    """The probe costs queries in the sender process; idle steps skip it."""

    def probe() -> float:
        raise AssertionError("probed while idle")

    sender = NotificationSender(stop=threading.Event(), next_slot=probe)
    assert sender.yield_seconds() == 0.0


class RecordingStop(threading.Event):
    """A stop event that records the waits asked of it, and never waits."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        return False


def test_between_probes_the_sender_holds_around_the_slot_it_knows() -> None:
    """Before each send: the last probe's slot, asked nothing more."""
    probes = [SLOT_GUARD_SECONDS + 0.5]
    stop = RecordingStop()
    sender = NotificationSender(stop=stop, next_slot=lambda: probes.pop(0))
    sender.is_busy = True
    sender.hold()
    assert stop.waits == []
    # Half a second later (a batch of sends): the slot is within the guard.
    sender._slot_at = time.monotonic() + SLOT_GUARD_SECONDS / 2
    sender.hold_known()
    assert stop.waits == [
        pytest.approx(SLOT_GUARD_SECONDS / 2 + SLOT_AFTER_SECONDS, abs=0.01)
    ]
    # Long past the slot: no hold.
    sender._slot_at = time.monotonic() - 1.0
    sender.hold_known()
    assert len(stop.waits) == 1


@pytest.mark.django_db(transaction=True)
def test_the_thread_stops_when_the_event_is_set() -> None:
    """run_forever ends within a poll once stop is set."""
    stop = threading.Event()
    sender = NotificationSender(stop=stop, poll_seconds=0.05)
    thread = sender.start()
    stop.set()
    sender.join(5.0)
    assert thread.is_alive() is False
