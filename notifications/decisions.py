"""Which notifications a run event causes: pure rules, no Django.

A run event (a run ended, or a retry was scheduled) becomes one *trigger*
(`failure`, `timeout`, ...). With the job's failing streak before the event,
`decide` says which rules fire:

* a rule on state change only (the default) fires a failure-like trigger
  only when the job was not failing before, and `success` only when it was;
  a job failing every minute sends one failure, then one recovery;
* `recovered` fires on the first success after one or more failures;
* `failing_n` fires when the streak reaches exactly the rule's N.

Retries scheduled and misfire skips do not change the streak.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SUCCESS = "success"
FAILURE = "failure"
RETRY = "retry"
TIMEOUT = "timeout"
LOST = "lost"
BLOCKED = "blocked"
SKIPPED_MISFIRE = "skipped_misfire"
RECOVERED = "recovered"
FAILING_N = "failing_n"
CIRCUIT_OPEN = "circuit_open"
TEST = "test"

TRIGGERS = (
    SUCCESS,
    FAILURE,
    RETRY,
    TIMEOUT,
    LOST,
    BLOCKED,
    SKIPPED_MISFIRE,
    RECOVERED,
    FAILING_N,
)
LABELS = {
    SUCCESS: "Succeeded",
    FAILURE: "Failed",
    RETRY: "Retry scheduled",
    TIMEOUT: "Timed out",
    LOST: "Lost",
    BLOCKED: "Blocked",
    SKIPPED_MISFIRE: "Skipped by misfire",
    RECOVERED: "Recovered",
    FAILING_N: "Failing N times in a row",
    CIRCUIT_OPEN: "Paused by the circuit breaker",
    TEST: "Test notification",
}
# Triggers that mean "the job is failing": they grow the streak.
FAILING = frozenset({FAILURE, TIMEOUT, LOST, BLOCKED})
# Triggers a state-change rule sends only when the state changed.
STATEFUL = FAILING | {SUCCESS}

_BY_STATUS = {
    "succeeded": SUCCESS,
    "failed": FAILURE,
    "timed_out": TIMEOUT,
    "lost": LOST,
    "blocked": BLOCKED,
}
_MISFIRE_CODES = frozenset({"misfire_skipped", "misfire_cap", "misfire_folded"})


@dataclass(frozen=True)
class RuleSpec:
    """What one rule asks for: its id, triggers, N and state-change mode."""

    id: int
    triggers: frozenset[str]
    failing_n: int = 0
    only_on_change: bool = True


@dataclass(frozen=True)
class Outcome:
    """The trigger of an event, the new streak and the rules that fire."""

    trigger: str | None
    streak: int
    fired: tuple[tuple[int, str], ...]


def trigger_of(*, kind: str, status: str, reason_code: str) -> str | None:
    """Return the trigger a run event stands for; None: it notifies nobody.

    `kind` is ``ended`` or ``retry_scheduled``; cancelled runs and skips for
    other reasons than a misfire (concurrency, say) trigger nothing.
    """
    if kind == "retry_scheduled":
        return RETRY
    if status == "skipped":
        return SKIPPED_MISFIRE if reason_code in _MISFIRE_CODES else None
    return _BY_STATUS.get(status)


def next_streak(trigger: str | None, streak: int) -> int:
    """Return the failing streak after `trigger` (unchanged by the others)."""
    if trigger in FAILING:
        return streak + 1
    if trigger == SUCCESS:
        return 0
    return streak


def decide(*, trigger: str | None, streak: int, rules: Iterable[RuleSpec]) -> Outcome:
    """Return which rules fire for `trigger`, given the streak before it.

    Each rule fires at most once per event; `fired` holds (rule id, the
    trigger it fires for), where the trigger may be `recovered` or
    `failing_n` rather than the event's own.
    """
    after = next_streak(trigger, streak)
    fired: list[tuple[int, str]] = []
    if trigger is not None:
        for rule in rules:
            chosen = _rule_fires(rule, trigger=trigger, before=streak, after=after)
            if chosen is not None:
                fired.append((rule.id, chosen))
    return Outcome(trigger=trigger, streak=after, fired=tuple(fired))


def _rule_fires(rule: RuleSpec, *, trigger: str, before: int, after: int) -> str | None:
    """Return the trigger `rule` fires for, or None."""
    if RECOVERED in rule.triggers and trigger == SUCCESS and before > 0:
        return RECOVERED
    if (
        FAILING_N in rule.triggers
        and rule.failing_n
        and after == rule.failing_n > before
    ):
        return FAILING_N
    if trigger not in rule.triggers:
        return None
    if rule.only_on_change and trigger in STATEFUL and not _changed(trigger, before):
        return None
    return trigger


def _changed(trigger: str, before: int) -> bool:
    """Return True if `trigger` changes the job's state (ok <-> failing)."""
    return (before > 0) if trigger == SUCCESS else (before == 0)


def unknown_triggers(names: Sequence[str]) -> list[str]:
    """Return the names in `names` that are not triggers, in order."""
    return [name for name in names if name not in TRIGGERS]
