"""The sender thread: holds off around the scheduler's slots, stops on time."""

from __future__ import annotations

import threading

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
        (0.2, 0.2 + SLOT_AFTER_SECONDS),
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


@pytest.mark.django_db(transaction=True)
def test_the_thread_stops_when_the_event_is_set() -> None:
    """run_forever ends within a poll once stop is set."""
    stop = threading.Event()
    sender = NotificationSender(stop=stop, poll_seconds=0.05)
    thread = sender.start()
    stop.set()
    sender.join(5.0)
    assert thread.is_alive() is False
