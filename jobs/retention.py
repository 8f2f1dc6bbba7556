"""Retention policy: how long finished runs and their output are kept.

Pure: no Django imports and no clock reads. A policy has three numbers, each
0 for "no limit": keep finished runs `days` days, keep at most `runs`
finished runs per job, and empty a finished run's output after
`output_days` days (the run row stays). A job's own number, when set, wins
over the portal's.

`jobs.services.retention` applies it: only finished runs are ever deleted or
trimmed (never queued or running ones), in batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetentionPolicy:
    """Keep runs `days` days and `runs` per job; output `output_days` days."""

    days: int = 0
    runs: int = 0
    output_days: int = 0

    def __post_init__(self) -> None:
        """Refuse negative numbers (0 means no limit)."""
        if min(self.days, self.runs, self.output_days) < 0:
            raise ValueError(f"Retention numbers may not be negative: {self}")


def policy_for(
    *,
    days: int | None,
    runs: int | None,
    output_days: int | None,
    default: RetentionPolicy,
) -> RetentionPolicy:
    """Return a job's policy: its own numbers, the default's where it has none."""
    return RetentionPolicy(
        days=default.days if days is None else days,
        runs=default.runs if runs is None else runs,
        output_days=default.output_days if output_days is None else output_days,
    )


def cutoff(days: int, *, now: datetime) -> datetime | None:
    """Return the instant before which rows go, or None for "no limit" (0)."""
    if days <= 0:
        return None
    return now - timedelta(days=days)


def runs_beyond(count: int, *, keep: int) -> int:
    """Return how many of a job's `count` finished runs the count rule removes."""
    if keep <= 0:
        return 0
    return max(0, count - keep)
