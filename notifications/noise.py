"""Rate limits for channels: a token bucket, pure and clock-free."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Bucket:
    """A token bucket's state: tokens left at instant `at`."""

    tokens: float
    at: datetime | None


def bucket_take(
    bucket: Bucket, *, now: datetime, per_hour: int, burst: int
) -> tuple[bool, Bucket]:
    """Take one token if there is one; return (taken, the bucket after).

    The bucket holds at most `burst` tokens and refills `per_hour` tokens an
    hour; `per_hour=0` means no limit. A bucket never used starts full.
    """
    if per_hour <= 0:
        return True, bucket
    capacity = float(max(burst, 1))
    tokens = capacity if bucket.at is None else bucket.tokens
    if bucket.at is not None:
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        tokens = min(capacity, tokens + elapsed * per_hour / 3600.0)
    if tokens >= 1.0:
        return True, Bucket(tokens=tokens - 1.0, at=now)
    return False, Bucket(tokens=tokens, at=now)


def backoff_seconds(attempt: int, *, base: float = 5.0, cap: float = 3600.0) -> float:
    """Return the wait before retry `attempt` (1: the first retry), doubling."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))
