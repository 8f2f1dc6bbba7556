"""The portal's clock and the one fixture that moves it."""

from datetime import UTC, datetime, timedelta

from jobportal import clock
from jobportal.tests.clocks import FrozenClock


def test_now_is_aware_utc_and_current() -> None:
    """`now()` is timezone-aware UTC, between two readings of the real time."""
    before = datetime.now(UTC)
    at = clock.now()
    assert at.tzinfo is UTC
    assert before <= at <= datetime.now(UTC)


def test_frozen_clock_stops_and_moves_the_portal_clock(
    frozen_clock: FrozenClock, now: datetime
) -> None:
    """Every caller of `jobportal.clock.now` sees the frozen, moved instant."""
    assert clock.now() == now
    assert frozen_clock.advance(90) == now + timedelta(seconds=90)
    assert clock.now() == now + timedelta(seconds=90)
    later = datetime(2026, 3, 6, 12, tzinfo=UTC)
    assert frozen_clock.set(later) == later
    assert (clock.now(), frozen_clock(), frozen_clock.now) == (later, later, later)
