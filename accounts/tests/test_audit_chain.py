"""The audit hash chain (pure): digests and verification."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from accounts.audit_chain import (
    GENESIS_HASH,
    MSG_ALTERED,
    MSG_BROKEN_LINK,
    MSG_BROKEN_START,
    ChainEvent,
    chain_verify,
    event_digest,
    event_digest_of,
)

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def make_chain(count: int) -> list[ChainEvent]:
    """Return `count` correctly chained events."""
    events, prev = [], GENESIS_HASH
    for index in range(1, count + 1):
        event = ChainEvent(
            id=index,
            at=AT + timedelta(seconds=index),
            actor_repr="alice",
            action="update",
            target_type="jobs.job",
            target_id="7",
            target_repr="nightly",
            changes={"name": ["a", f"b{index}"]},
            ip="10.0.0.1",
            prev_hash=prev,
            hash="",
        )
        event = replace(event, hash=event_digest_of(event))
        events.append(event)
        prev = event.hash
    return events


def test_digest_is_the_same_in_any_timezone_and_key_order() -> None:
    """The digest covers the instant in UTC and JSON with sorted keys."""
    common: dict[str, Any] = {
        "actor_repr": "alice",
        "action": "update",
        "target_type": "jobs.job",
        "target_id": "7",
        "target_repr": "nightly",
        "ip": None,
        "prev_hash": GENESIS_HASH,
    }
    hong_kong = AT.astimezone(timezone(timedelta(hours=8)))
    first = event_digest(at=AT, changes={"a": [1, 2], "b": [3, 4]}, **common)
    second = event_digest(at=hong_kong, changes={"b": [3, 4], "a": [1, 2]}, **common)
    assert first == second
    assert len(first) == 64


def test_digest_changes_with_any_field() -> None:
    """Each covered field changes the digest."""
    event = make_chain(1)[0]
    change: dict[str, Any]
    for change in (
        {"actor_repr": "mallory"},
        {"action": "delete"},
        {"target_id": "8"},
        {"changes": {}},
        {"ip": "10.0.0.2"},
        {"at": AT},
        {"prev_hash": "1" * 64},
    ):
        assert event_digest_of(replace(event, **change)) != event.hash, change


def test_an_intact_chain_verifies() -> None:
    """A correctly chained log reports its count and last event."""
    events = make_chain(5)
    report = chain_verify(events)
    assert report.count == 5
    assert report.broken is None
    assert report.last == events[-1]


def test_an_empty_chain_verifies() -> None:
    """No events: nothing to break."""
    report = chain_verify([])
    assert (report.count, report.broken, report.last) == (0, None, None)


def test_a_changed_event_is_named() -> None:
    """An event whose content no longer matches its hash breaks there."""
    events = make_chain(4)
    events[2] = replace(events[2], actor_repr="mallory")
    report = chain_verify(events)
    assert report.broken is not None
    assert report.broken.event_id == 3
    assert report.broken.message == MSG_ALTERED.format(id=3)


def test_a_deleted_event_is_named_at_the_next_one() -> None:
    """Removing an event breaks the link of the one after the gap."""
    events = make_chain(4)
    del events[1]
    report = chain_verify(events)
    assert report.broken is not None
    assert report.broken.event_id == 3
    assert report.broken.message == MSG_BROKEN_LINK.format(
        id=3,
        prev_hash=events[1].prev_hash,
        before_id=1,
        before_hash=events[0].hash,
    )


def test_a_rewritten_event_with_a_new_hash_breaks_the_next_link() -> None:
    """Recomputing the changed event's hash still breaks the next link."""
    events = make_chain(3)
    forged = replace(events[1], actor_repr="mallory")
    events[1] = replace(forged, hash=event_digest_of(forged))
    report = chain_verify(events)
    assert report.broken is not None
    assert report.broken.event_id == 3


def test_deleting_the_oldest_events_is_detected() -> None:
    """The oldest remaining event must start the chain."""
    events = make_chain(3)[1:]
    report = chain_verify(events)
    assert report.broken is not None
    assert report.broken.message == MSG_BROKEN_START.format(
        id=2, prev_hash=events[0].prev_hash
    )
