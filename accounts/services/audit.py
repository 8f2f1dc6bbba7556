"""Write audit events: one linear, hash-chained log of who changed what.

Writers are serialised so that the chain stays linear: on PostgreSQL a
transaction-scoped advisory lock is taken before the newest event is read
(locking the newest row with SELECT ... FOR UPDATE would not do: a waiter
would then read the same, now superseded, row and chain onto it); on
SQLite every transaction starts with BEGIN IMMEDIATE (settings), which
already admits one writer at a time. The unique constraint on `prev_hash`
backs both up: a fork fails with an IntegrityError, and the writer retries
on the new head.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Model

from accounts.actors import Actor, actor_user
from accounts.audit_chain import GENESIS_HASH, event_digest_of
from accounts.models import AuditEvent
from accounts.redaction import redact_changes

logger = logging.getLogger(__name__)

# Any constant identifies the audit log's lock among advisory locks.
AUDIT_LOCK_ID = 0x6A6F6261756469  # "jobaudi"
MAX_ATTEMPTS = 5
# Targets whose values are all secret: only these fields show in changes.
SECRET_TARGET_TYPES = frozenset({"jobs.secret"})
SECRET_VISIBLE_FIELDS = frozenset({"name", "description"})
# Fields of a target that list secrets by name (never values): shown as is.
SECRET_NAME_FIELDS = {"jobs.job": frozenset({"secrets"})}

Changes = Mapping[str, Sequence[Any]]


@dataclass(frozen=True)
class AuditTarget:
    """What an event is about, for targets that are not (or no longer) rows."""

    type: str
    id: str
    repr: str


def audit_target(obj: Model) -> AuditTarget:
    """Return the audit target for model instance `obj`."""
    return AuditTarget(
        type=obj._meta.label_lower, id=str(obj.pk or ""), repr=str(obj)[:255]
    )


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: Model | AuditTarget | None,
    changes: Changes | None = None,
    ip: str | None = None,
    now: datetime,
) -> AuditEvent:
    """Append an event to the audit log and return it.

    `changes` is `{field: [old, new]}`; secret-looking values are hidden
    (see `accounts.redaction`), and for secrets only their names show. An
    anonymous or missing actor is recorded as the system (empty name).
    """
    if isinstance(target, Model):
        target = audit_target(target)
    is_secret = target is not None and target.type in SECRET_TARGET_TYPES
    keep = SECRET_VISIBLE_FIELDS if is_secret else None
    names = SECRET_NAME_FIELDS.get(target.type, frozenset()) if target else frozenset()
    safe_changes = json_safe(redact_changes(changes or {}, keep=keep, names=names))
    user = actor_user(actor)
    event = AuditEvent(
        at=now,
        actor=user,
        actor_repr=user.get_username()[:150] if user is not None else "",
        action=action,
        target_type=target.type if target else "",
        target_id=target.id if target else "",
        target_repr=target.repr[:255] if target else "",
        changes=safe_changes,
        ip=ip or None,
    )
    attempt = 1
    while True:
        try:
            with transaction.atomic():
                return _append(event)
        except IntegrityError:
            # Another writer chained onto the same head first: retry on the
            # new head (only possible if a writer bypassed the lock).
            if attempt >= MAX_ATTEMPTS:
                raise
            attempt += 1
            logger.warning("Audit event lost a race for the chain head; retrying")
            event.pk = None


def _append(event: AuditEvent) -> AuditEvent:
    """Chain `event` onto the newest event and insert it (inside a transaction)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_ID])
    event.prev_hash = _head_hash()
    event.hash = "-"
    # Normalises the IP address the way it will be stored, before hashing.
    event.full_clean(validate_unique=False, validate_constraints=False)
    event.hash = event_digest_of(event)
    event.save(force_insert=True)
    return event


def _head_hash() -> str:
    """Return the hash of the newest event (the chain's head)."""
    head = AuditEvent.objects.order_by("-pk").values_list("hash", flat=True).first()
    return head or GENESIS_HASH


def json_safe(value: Any) -> Any:
    """Return `value` as plain JSON that reads back unchanged from either database.

    The event's hash must still match when it is read back. Dates, decimals
    and UUIDs become strings; whole floats become integers and non-finite
    ones strings, since PostgreSQL's jsonb would rewrite them.
    """
    return _numbers(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


def _numbers(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {key: _numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    return value


def changed_values(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, list[Any]]:
    """Return `{field: [old, new]}` for the fields whose values differ.

    A field missing on one side counts as None there.
    """
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def audit_state_change(
    *,
    actor: Actor,
    target: Model | AuditTarget,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    ip: str | None = None,
    now: datetime,
) -> AuditEvent | None:
    """Record a create (no `before`), delete (no `after`) or update of `target`.

    `before` and `after` are flat `{field: value}` states. An update that
    changed nothing records nothing and returns None.
    """
    if before is None:
        action = AuditEvent.Action.CREATE
    elif after is None:
        action = AuditEvent.Action.DELETE
    else:
        action = AuditEvent.Action.UPDATE
    changes = changed_values(before or {}, after or {})
    if action == AuditEvent.Action.UPDATE and not changes:
        return None
    return audit_record(
        actor=actor, action=action, target=target, changes=changes, ip=ip, now=now
    )
