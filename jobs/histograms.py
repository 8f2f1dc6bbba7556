"""Fixed-bucket histograms of seconds: the rollups' durations and lateness.

Pure: no Django, no clock. A histogram is a list of counts, one per upper
bound in `DURATION_BOUNDS` or `LATENESS_BOUNDS` plus one for +Inf, so that
rollup rows can be added up bucket by bucket and the same counts become the
Prometheus histograms. Quantiles interpolate linearly inside the bucket
that holds them, as Prometheus' `histogram_quantile` does: exact to the
bucket, which is what a dashboard needs at 1M runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

# Upper bounds in seconds (the last bucket, +Inf, is implicit).
DURATION_BOUNDS: tuple[float, ...] = (
    1.0,
    5.0,
    15.0,
    30.0,
    60.0,
    300.0,
    900.0,
    1800.0,
    3600.0,
    7200.0,
)
LATENESS_BOUNDS: tuple[float, ...] = (
    0.25,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
)


def empty(bounds: Sequence[float]) -> list[int]:
    """Return a histogram with no observations over `bounds` (+Inf included)."""
    return [0] * (len(bounds) + 1)


def bucket_index(bounds: Sequence[float], value: float) -> int:
    """Return the index of the first bucket whose upper bound holds `value`."""
    for index, bound in enumerate(bounds):
        if value <= bound:
            return index
    return len(bounds)


def observe(counts: list[int], bounds: Sequence[float], value: float) -> list[int]:
    """Return `counts` with one more observation of `value` (a new list)."""
    result = list(counts) if counts else empty(bounds)
    result[bucket_index(bounds, value)] += 1
    return result


def merge(histograms: Iterable[Sequence[int]], bounds: Sequence[float]) -> list[int]:
    """Return the bucket-by-bucket sum of `histograms` (missing ones count 0)."""
    total = empty(bounds)
    for counts in histograms:
        for index, count in enumerate(counts[: len(total)]):
            total[index] += int(count)
    return total


def cumulative(counts: Sequence[int]) -> list[int]:
    """Return the running totals of `counts` (Prometheus' `le` buckets)."""
    running = 0
    result = []
    for count in counts:
        running += count
        result.append(running)
    return result


def quantile(counts: Sequence[int], bounds: Sequence[float], q: float) -> float | None:
    """Return the `q` quantile (0..1) of a histogram, or None when it is empty.

    The rank falls in one bucket; the value is interpolated linearly between
    that bucket's lower and upper bound. A rank in the +Inf bucket gives the
    largest finite bound (nothing better is known).
    """
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    below = 0
    for index, count in enumerate(counts):
        if count and below + count >= rank:
            if index >= len(bounds):
                return bounds[-1]
            lower = bounds[index - 1] if index else 0.0
            upper = bounds[index]
            return lower + (upper - lower) * max(rank - below, 0.0) / count
        below += count
    return bounds[-1] if bounds else math.nan
