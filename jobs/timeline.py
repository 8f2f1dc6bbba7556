"""A job's slot timeline: every slot of a range with what became of it.

Pure: no Django, no clock. `build_timeline` merges the engine's fire
instants (what the schedules asked for) with the run rows recorded for the
job (what happened), so that "why didn't job X run at 09:00?" has an answer
per slot:

- ran: the latest attempt's status (succeeded, failed, timed_out,
  cancelled, lost) with its lateness and duration;
- skipped with its reason code (`misfire_skipped`, `concurrency_forbid`,
  `blackout`, or any other), or folded into a later run by the misfire
  policy (`misfire_folded`), or blocked with its reason code;
- queued or running;
- missing: the instant has passed (beyond the misfire grace) and nothing
  was recorded (the job was inactive then, its schedules were different,
  or no worker was running and the worker has not caught up yet);
- upcoming: not due yet.

Runs whose instant is no slot of the current schedules (manual runs, or
slots of an earlier schedule) are listed too, marked as not scheduled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Outcomes besides the run statuses.
FOLDED = "folded"
MISSING = "missing"
UPCOMING = "upcoming"
BEFORE_JOB = "before_job"
FOLDED_CODE = "misfire_folded"
# Outcomes a person may ask to run again, now.
RERUNNABLE = frozenset(
    {
        "failed",
        "timed_out",
        "cancelled",
        "lost",
        "skipped",
        "blocked",
        FOLDED,
        MISSING,
    }
)
ACTIVE = frozenset({"queued", "running"})

EXPLANATIONS = {
    MISSING: (
        "Nothing was recorded for this slot: the job was inactive or had other "
        "schedules then, or no worker was running and none has caught up yet."
    ),
    UPCOMING: "Not due yet.",
    BEFORE_JOB: "The job did not exist yet.",
    FOLDED: "Missed while no worker ran; folded into the run of a later slot "
    "(misfire policy: run once).",
}


@dataclass(frozen=True)
class RunRow:
    """What the timeline needs of one run row."""

    run_id: int
    scheduled_for: datetime
    attempt: int
    status: str
    trigger: str
    reason: str
    reason_code: str
    not_before: datetime
    started_at: datetime | None
    finished_at: datetime | None
    missed_slots: int = 0


@dataclass(frozen=True)
class Slot:
    """A fire instant the engine computed; `moved_from` when DST moved it."""

    at: datetime
    local: datetime
    moved_from: datetime | None = None


@dataclass
class Entry:
    """One slot (or one unscheduled run) and its outcome."""

    at: datetime
    local: datetime | None
    outcome: str
    is_scheduled: bool
    moved_from: datetime | None = None
    runs: list[RunRow] = field(default_factory=list)

    @property
    def latest(self) -> RunRow | None:
        """Return the latest attempt, if any run was recorded."""
        return self.runs[-1] if self.runs else None

    @property
    def reason_code(self) -> str:
        """Return the latest attempt's reason code ("" without one)."""
        return self.latest.reason_code if self.latest else ""

    @property
    def explanation(self) -> str:
        """Return why the slot came out so, in words."""
        latest = self.latest
        if latest is not None and latest.reason and self.outcome != FOLDED:
            return latest.reason
        return EXPLANATIONS.get(self.outcome, "")

    @property
    def lateness_seconds(self) -> float | None:
        """Return how late the latest attempt started, if it did."""
        latest = self.latest
        if latest is None or latest.started_at is None:
            return None
        return max((latest.started_at - latest.not_before).total_seconds(), 0.0)

    @property
    def duration_seconds(self) -> float | None:
        """Return how long the latest attempt took, if it ended."""
        latest = self.latest
        if latest is None or latest.started_at is None or latest.finished_at is None:
            return None
        return (latest.finished_at - latest.started_at).total_seconds()

    @property
    def can_run_now(self) -> bool:
        """Return True if this slot may be run again now (not while one is active)."""
        if any(run.status in ACTIVE for run in self.runs):
            return False
        return self.outcome in RERUNNABLE


def outcome_of(runs: Sequence[RunRow]) -> str:
    """Return the outcome of a slot from its runs (oldest attempt first)."""
    latest = runs[-1]
    if latest.status == "skipped" and latest.reason_code == FOLDED_CODE:
        return FOLDED
    return latest.status


def build_timeline(
    *,
    slots: Iterable[Slot],
    runs: Iterable[RunRow],
    now: datetime,
    grace_seconds: float,
    created_at: datetime | None = None,
) -> list[Entry]:
    """Return one entry per slot and per unscheduled run, in time order.

    A slot with no run is `upcoming` until `grace_seconds` after it (the
    worker may not have reached it), then `missing`; one before
    `created_at` is `before_job`.
    """
    by_instant: dict[datetime, list[RunRow]] = {}
    for run in sorted(runs, key=lambda r: (r.scheduled_for, r.attempt, r.run_id)):
        by_instant.setdefault(run.scheduled_for, []).append(run)
    entries = []
    grace = timedelta(seconds=grace_seconds)
    for slot in slots:
        recorded = by_instant.pop(slot.at, [])
        if recorded:
            outcome = outcome_of(recorded)
        elif created_at is not None and slot.at < created_at:
            outcome = BEFORE_JOB
        elif slot.at + grace < now:
            outcome = MISSING
        else:
            outcome = UPCOMING
        entries.append(
            Entry(
                at=slot.at,
                local=slot.local,
                outcome=outcome,
                is_scheduled=True,
                moved_from=slot.moved_from,
                runs=recorded,
            )
        )
    for instant, recorded in by_instant.items():
        entries.append(
            Entry(
                at=instant,
                local=None,
                outcome=outcome_of(recorded),
                is_scheduled=False,
                runs=recorded,
            )
        )
    entries.sort(key=lambda entry: entry.at)
    return entries
