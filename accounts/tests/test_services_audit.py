"""`audit_record`: the chain, redaction, what an event keeps, races."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction

from accounts.audit_chain import GENESIS_HASH
from accounts.models import AuditEvent
from accounts.redaction import REDACTED
from accounts.selectors import audit_chain_report
from accounts.services import audit as audit_service
from accounts.services.audit import (
    AuditTarget,
    audit_record,
    audit_state_change,
    json_safe,
)

pytestmark = pytest.mark.django_db

TARGET = AuditTarget(type="jobs.job", id="7", repr="nightly")


def record(now: datetime, **fields: Any) -> AuditEvent:
    """Record an event with defaults for what the test does not care about."""
    fields.setdefault("actor", None)
    fields.setdefault("action", AuditEvent.Action.UPDATE)
    fields.setdefault("target", TARGET)
    return audit_record(now=now, **fields)


def test_events_chain_onto_each_other(now: datetime) -> None:
    """Each event stores the previous event's hash; the first the genesis."""
    AuditEvent.objects.all().delete()
    first = record(now)
    second = record(now + timedelta(seconds=1))
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    report = audit_chain_report()
    assert (report.count, report.broken) == (2, None)


def test_records_actor_target_changes_and_ip(
    now: datetime, make_user: Callable[..., User]
) -> None:
    """An event keeps who, what, on what, which fields and from where."""
    alice = make_user("alice")
    event = record(
        now,
        actor=alice,
        action=AuditEvent.Action.UPDATE,
        changes={"name": ["old", "new"]},
        ip="203.0.113.9",
    )
    event.refresh_from_db()
    assert (event.actor, event.actor_repr) == (alice, "alice")
    assert (event.target_type, event.target_id, event.target_repr) == (
        "jobs.job",
        "7",
        "nightly",
    )
    assert event.changes == {"name": ["old", "new"]}
    assert event.ip == "203.0.113.9"
    assert event.at == now


def test_a_model_instance_is_its_own_target(
    now: datetime, make_user: Callable[..., User]
) -> None:
    """Passing a row records its label, pk and text."""
    bob = make_user("bob")
    event = record(now, target=bob)
    assert (event.target_type, event.target_id, event.target_repr) == (
        "auth.user",
        str(bob.pk),
        "bob",
    )


def test_secret_looking_values_are_redacted(now: datetime) -> None:
    """Fields named like secrets, and such keys inside values, are hidden."""
    event = record(
        now,
        changes={
            "password": ["a", "b"],
            "env": [{"REGION": "eu"}, {"REGION": "eu", "API_TOKEN": "t"}],
            "env.DB_PASSWORD": [None, "pw"],
        },
    )
    event.refresh_from_db()
    assert event.changes == {
        "password": [REDACTED, REDACTED],
        "env": [{"REGION": "eu"}, {"REGION": "eu", "API_TOKEN": REDACTED}],
        "env.DB_PASSWORD": [None, REDACTED],
    }


def test_a_secret_target_shows_only_its_name(now: datetime) -> None:
    """For a secret, every value but its name and description is hidden."""
    event = record(
        now,
        target=AuditTarget(type="jobs.secret", id="1", repr="API"),
        changes={"name": ["A", "B"], "ciphertext": ["x", "y"]},
    )
    assert event.changes == {"name": ["A", "B"], "ciphertext": [REDACTED, REDACTED]}


def test_actor_name_outlives_the_user_and_the_chain_still_verifies(
    now: datetime, make_user: Callable[..., User]
) -> None:
    """Deleting a user empties the link, not the name, and breaks nothing."""
    carol = make_user("carol")
    event = record(now, actor=carol)
    carol.delete()
    event.refresh_from_db()
    assert (event.actor, event.actor_repr) == (None, "carol")
    assert audit_chain_report().broken is None


def test_anonymous_or_missing_actor_is_the_system(now: datetime) -> None:
    """No actor: an empty name, shown as "system"."""
    event = record(now, actor=None)
    assert (event.actor, event.actor_repr) == (None, "")
    assert str(event).startswith(f"#{event.pk} system update")


def test_ipv6_addresses_are_stored_normalised_and_verify(now: datetime) -> None:
    """The address is hashed as stored, so the chain verifies."""
    event = record(now, ip="2001:DB8:0:0::1")
    event.refresh_from_db()
    assert event.ip == "2001:db8::1"
    assert audit_chain_report().broken is None


def test_values_are_stored_as_plain_json(now: datetime) -> None:
    """Dates, decimals and whole floats read back as hashed."""
    changes = {"when": [None, now], "ratio": [Decimal("1.5"), 2.0]}
    event = record(now, changes=changes)
    event.refresh_from_db()
    assert event.changes == {
        "when": [None, "2026-03-01T00:00:00Z"],
        "ratio": ["1.5", 2],
    }
    assert audit_chain_report().broken is None


def test_json_safe_keeps_fractions_and_names_non_finite_numbers() -> None:
    """Fractions stay floats; NaN and infinity become text."""
    assert json_safe({"a": [0.25, float("inf"), float("nan")]}) == {
        "a": [0.25, "inf", "nan"]
    }


def test_two_events_cannot_share_a_predecessor(now: datetime) -> None:
    """The unique prev_hash makes a fork impossible at the database."""
    first = record(now)
    fork = AuditEvent(
        at=now,
        action="update",
        prev_hash=first.prev_hash,
        hash="f" * 64,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        fork.save()


def test_a_writer_that_chained_onto_a_stale_head_retries(
    now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Losing the race for the head (IntegrityError) retries on the new head."""
    first = record(now)
    real_head = audit_service._head_hash
    stale = iter([first.prev_hash])
    monkeypatch.setattr(
        audit_service, "_head_hash", lambda: next(stale, None) or real_head()
    )
    second = record(now)
    assert second.prev_hash == first.hash
    assert audit_chain_report().broken is None


def test_state_change_records_nothing_when_nothing_changed(now: datetime) -> None:
    """An update with equal states writes no event."""
    count = AuditEvent.objects.count()
    event = audit_state_change(
        actor=None, target=TARGET, before={"a": 1}, after={"a": 1}, now=now
    )
    assert event is None
    assert AuditEvent.objects.count() == count


def test_state_change_names_create_update_and_delete(now: datetime) -> None:
    """No before: create; no after: delete; otherwise the changed fields."""
    created = audit_state_change(
        actor=None, target=TARGET, before=None, after={"a": 1}, now=now
    )
    updated = audit_state_change(
        actor=None,
        target=TARGET,
        before={"a": 1, "b": 2},
        after={"a": 3, "b": 2},
        now=now,
    )
    deleted = audit_state_change(
        actor=None, target=TARGET, before={"a": 3}, after=None, now=now
    )
    assert created is not None
    assert updated is not None
    assert deleted is not None
    assert (created.action, created.changes) == ("create", {"a": [None, 1]})
    assert (updated.action, updated.changes) == ("update", {"a": [1, 3]})
    assert (deleted.action, deleted.changes) == ("delete", {"a": [3, None]})


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_linear_chain(now: datetime) -> None:
    """Threads writing at once never chain onto the same event."""
    writers, per_writer = 4, 15
    start = threading.Barrier(writers, timeout=30)
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            start.wait()
            for n in range(per_writer):
                record(now, changes={"writer": [None, index], "n": [None, n]})
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    report = audit_chain_report()
    assert report.broken is None
    assert report.count == AuditEvent.objects.count() >= writers * per_writer
    prev_hashes = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(set(prev_hashes)) == len(prev_hashes)
