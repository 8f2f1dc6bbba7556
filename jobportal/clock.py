"""The portal's one clock: what time it is now, for the interfaces.

Admin pages, API views and management commands read the time here and pass
it to services as ``now=`` (services never read a clock themselves). Tests
move it with the root conftest's ``frozen_clock`` fixture, which patches
`now` in this module only: callers must look it up at call time
(``from jobportal import clock`` … ``clock.now()``), not import the function.
"""

from datetime import UTC, datetime


def now() -> datetime:
    """Return the current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)
