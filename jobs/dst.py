"""DST facts about instants: repeated (fold) wall times and the next change.

Pure: no Django imports and no clock reads. The schedule preview marks an
instant whose wall time happens twice (a fall-back night) and finds a zone's
next UTC offset change, so that an operator can look at that night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# Zones change offset at most a few times a year; two years covers every
# zone that observes DST at all.
SEARCH_DAYS = 2 * 366


@dataclass(frozen=True)
class OffsetChange:
    """A zone's UTC offset change: the first instant of the new offset."""

    at: datetime
    offset_before: timedelta
    offset_after: timedelta

    @property
    def shift(self) -> timedelta:
        """Return how far the clocks move (negative: back)."""
        return self.offset_after - self.offset_before


def fold_index(local: datetime) -> int | None:
    """Return 0 or 1 for a wall time that happens twice, else None.

    `local` is aware, in an IANA zone; 0 is the first of the two instants
    with that wall time (before the clocks fell back), 1 the second.
    """
    first = local.replace(fold=0).utcoffset()
    second = local.replace(fold=1).utcoffset()
    if first is None or second is None or first <= second:
        # Equal offsets: no repeat. A smaller first offset: the wall time is
        # in a gap (it never happens), which is not a repeat either.
        return None
    return local.fold


def next_offset_change(zone: ZoneInfo, after: datetime) -> OffsetChange | None:
    """Return `zone`'s first UTC offset change strictly after `after`, or None.

    Scans day by day for up to two years, then bisects to the second.
    """
    low = after.astimezone(UTC)
    before = _offset(low, zone)
    for _ in range(SEARCH_DAYS):
        high = low + timedelta(days=1)
        if _offset(high, zone) != before:
            return _bisect(zone, low, high)
        low = high
    return None


def _bisect(zone: ZoneInfo, low: datetime, high: datetime) -> OffsetChange:
    """Narrow [low, high) to the second at which the offset changes."""
    before = _offset(low, zone)
    while high - low > timedelta(seconds=1):
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if _offset(middle, zone) == before:
            low = middle
        else:
            high = middle
    return OffsetChange(at=high, offset_before=before, offset_after=_offset(high, zone))


def _offset(at: datetime, zone: ZoneInfo) -> timedelta:
    # An IANA zone always has an offset; UTC stands in for a missing one.
    return at.astimezone(zone).utcoffset() or timedelta(0)
