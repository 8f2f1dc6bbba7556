"""When a downstream job runs: the dependency modes, windows and cycles.

Pure: no Django imports and no clock reads. `jobs.services.dependencies`
collects, for each upstream job of a downstream job, the newest final
outcome of this round (or None while it has none) and asks `decide` what to
do: wait, run, or record a skip because the round can no longer satisfy
the job. `find_cycle` names a cycle in a graph of job names.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

ALL_SUCCESS = "all_success"
ANY_SUCCESS = "any_success"
ALL_COMPLETE = "all_complete"
MODES = (ALL_SUCCESS, ANY_SUCCESS, ALL_COMPLETE)

SUCCEEDED = "succeeded"
# Reason codes of records of slots that never ran (a misfire or a forbidden
# overlap): they are no outcome of the upstream job.
NOT_OUTCOME_CODES = frozenset(
    {"misfire_folded", "misfire_skipped", "misfire_cap", "concurrency_forbid"}
)
ARROW = " → "


class Action(enum.StrEnum):
    """What to do with a downstream job after an upstream outcome."""

    WAIT = "wait"
    RUN = "run"
    SKIP = "skip"


@dataclass(frozen=True)
class Outcome:
    """The final outcome of one upstream run."""

    run_id: int
    succeeded: bool


@dataclass(frozen=True)
class Decision:
    """`action`, the upstream runs it used, and the failed run a skip names."""

    action: Action
    run_ids: tuple[int, ...] = ()
    failed_run_id: int | None = None


WAIT = Decision(Action.WAIT)


def is_outcome(reason_code: str) -> bool:
    """Return whether an ended upstream run counts as an outcome at all."""
    return reason_code not in NOT_OUTCOME_CODES


def is_success(status: str) -> bool:
    """Return whether a run that ended with `status` succeeded."""
    return status == SUCCEEDED


def window_start(*, now: datetime, window_hours: int | None) -> datetime | None:
    """Return the oldest end an outcome may have to count, or None (any)."""
    if window_hours is None:
        return None
    return now - timedelta(hours=window_hours)


def decide(*, mode: str, outcomes: Mapping[int, Outcome | None]) -> Decision:
    """Decide a downstream job from its upstream jobs' outcomes this round.

    `outcomes` maps each upstream job to its newest final outcome of the
    round, or None while it has none. A job without upstream jobs waits.
    """
    if mode not in MODES:
        raise ValueError(f"Unknown dependency mode {mode!r}")
    if not outcomes:
        return WAIT
    present = [o for o in outcomes.values() if o is not None]
    used = tuple(sorted(o.run_id for o in present))
    failed = [o.run_id for o in present if not o.succeeded]
    complete = len(present) == len(outcomes)
    if mode == ALL_COMPLETE:
        return Decision(Action.RUN, used) if complete else WAIT
    if mode == ALL_SUCCESS:
        if failed:
            return Decision(Action.SKIP, used, failed_run_id=max(failed))
        return Decision(Action.RUN, used) if complete else WAIT
    if len(failed) < len(present):
        return Decision(Action.RUN, used)
    if complete:
        return Decision(Action.SKIP, used, failed_run_id=max(failed))
    return WAIT


def find_cycle(upstreams: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Return a cycle of the dependency graph as names, first name repeated.

    `upstreams` maps each job's name to the names it depends on. The cycle
    reads in the direction runs flow (upstream first): ["A", "B", "A"]
    means B depends on A and A on B. None when the graph has no cycle.
    """
    downstreams: dict[str, list[str]] = {}
    for job, ups in upstreams.items():
        downstreams.setdefault(job, [])
        for up in ups:
            downstreams.setdefault(up, []).append(job)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(downstreams):
        if start not in state:
            cycle = _cycle_from(start, downstreams, state)
            if cycle is not None:
                return cycle
    return None


def _cycle_from(
    start: str, downstreams: Mapping[str, list[str]], state: dict[str, int]
) -> list[str] | None:
    """Walk depth first from `start` without recursion; return a cycle found."""
    path = [start]
    stack = [iter(sorted(downstreams[start]))]
    state[start] = 1
    while stack:
        following = next(stack[-1], None)
        if following is None:
            state[path.pop()] = 2
            stack.pop()
            continue
        if state.get(following) == 1:
            return [*path[path.index(following) :], following]
        if following not in state:
            state[following] = 1
            path.append(following)
            stack.append(iter(sorted(downstreams[following])))
    return None


def cycle_text(cycle: Iterable[str]) -> str:
    """Return a cycle as people read it: "A → B → C → A"."""
    return ARROW.join(cycle)
