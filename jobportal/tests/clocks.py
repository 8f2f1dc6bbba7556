"""A settable clock for tests: the root conftest's `frozen_clock` is one."""

from datetime import datetime, timedelta


class FrozenClock:
    """A clock that stands still until a test moves it.

    Call it (or read `.now`) for the current fake instant; `set` and
    `advance` move it. It stands in for `jobportal.clock.now` and is what
    tests hand to `WorkerLoop(clock=...)`.
    """

    def __init__(self, start: datetime) -> None:
        """Start at `start` (timezone-aware)."""
        self.now = start

    def __call__(self) -> datetime:
        """Return the current fake instant."""
        return self.now

    def set(self, at: datetime) -> datetime:
        """Move to `at` and return it."""
        self.now = at
        return self.now

    def advance(self, seconds: float) -> datetime:
        """Move on by `seconds` and return the new instant."""
        self.now += timedelta(seconds=seconds)
        return self.now
