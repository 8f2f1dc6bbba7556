"""The audit log's hash chain: an event's digest and the chain's verification.

Pure Python. Each event stores the hash of the event before it
(`prev_hash`) and its own hash, a SHA-256 over a canonical JSON of its
content plus `prev_hash`. Changing an event breaks its own hash; deleting
one breaks the link of the event after it; rewriting an event and its hash
breaks the link of the next one. Only the removal of the newest events
leaves no trace in the chain itself, which is why `verify_audit` prints the
last hash: keep it somewhere else to detect that too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

# The `prev_hash` of the first event.
GENESIS_HASH = "0" * 64

MSG_INTACT = "Audit chain intact: {count} events"
MSG_LAST = "Last event: #{id} at {at}, hash {hash}"
MSG_ALTERED = (
    "Event #{id}: its content does not match its hash; the event was changed "
    "after it was written."
)
MSG_BROKEN_LINK = (
    "Event #{id}: its previous hash {prev_hash} is not the hash of event "
    "#{before_id} ({before_hash}); an event between them was deleted, or "
    "event #{before_id} was rewritten with a new hash."
)
MSG_BROKEN_START = (
    "Event #{id}: it is the oldest event but its previous hash {prev_hash} is "
    "not the start of the chain; older events were deleted."
)


@dataclass(frozen=True)
class ChainEvent:
    """The stored fields of one audit event that the chain covers."""

    id: int
    at: datetime
    actor_repr: str
    action: str
    target_type: str
    target_id: str
    target_repr: str
    changes: Any
    ip: str | None
    prev_hash: str
    hash: str


class ChainContent(Protocol):
    """What the digest covers: a `ChainEvent` or a stored audit event."""

    @property
    def at(self) -> datetime: ...
    @property
    def actor_repr(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def target_type(self) -> str: ...
    @property
    def target_id(self) -> str: ...
    @property
    def target_repr(self) -> str: ...
    @property
    def changes(self) -> Any: ...
    @property
    def ip(self) -> str | None: ...
    @property
    def prev_hash(self) -> str: ...


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the chain does not hold, and why."""

    event_id: int
    message: str


@dataclass(frozen=True)
class ChainReport:
    """The outcome of checking a chain: how many events, the first break."""

    count: int
    broken: ChainBreak | None
    last: ChainEvent | None


def canonical_json(value: Any) -> str:
    """Return `value` as JSON with sorted keys and no spaces (stable text)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_digest(
    *,
    at: datetime,
    actor_repr: str,
    action: str,
    target_type: str,
    target_id: str,
    target_repr: str,
    changes: Any,
    ip: str | None,
    prev_hash: str,
) -> str:
    """Return the SHA-256 hex digest of an event's content and `prev_hash`.

    `at` is taken in UTC to the microsecond, as both databases store it.
    The actor is covered by its name (`actor_repr`), not its user id,
    because deleting a user empties the id but never the name.
    """
    content = {
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor_repr,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "target_repr": target_repr,
        "changes": changes,
        "ip": ip,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def event_digest_of(event: ChainContent) -> str:
    """Return the digest `event`'s stored content should have."""
    return event_digest(
        at=event.at,
        actor_repr=event.actor_repr,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        target_repr=event.target_repr,
        changes=event.changes,
        ip=event.ip,
        prev_hash=event.prev_hash,
    )


def chain_verify(events: Iterable[ChainEvent]) -> ChainReport:
    """Check events in the order they were written; report the first break.

    A link is checked before the content, so that a deletion is named as
    such at the event after the gap.
    """
    count = 0
    before: ChainEvent | None = None
    for event in events:
        count += 1
        expected = before.hash if before is not None else GENESIS_HASH
        if event.prev_hash != expected:
            if before is None:
                message = MSG_BROKEN_START.format(
                    id=event.id, prev_hash=event.prev_hash
                )
            else:
                message = MSG_BROKEN_LINK.format(
                    id=event.id,
                    prev_hash=event.prev_hash,
                    before_id=before.id,
                    before_hash=before.hash,
                )
            return ChainReport(count, ChainBreak(event.id, message), event)
        if event_digest_of(event) != event.hash:
            message = MSG_ALTERED.format(id=event.id)
            return ChainReport(count, ChainBreak(event.id, message), event)
        before = event
    return ChainReport(count, None, before)
