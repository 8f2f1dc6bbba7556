"""Reads of accounts data that span rows: the audit chain."""

from __future__ import annotations

from collections.abc import Iterator

from accounts.audit_chain import ChainEvent, ChainReport, chain_verify
from accounts.models import AuditEvent

CHAIN_FIELDS = (
    "id",
    "at",
    "actor_repr",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "changes",
    "ip",
    "prev_hash",
    "hash",
)


def audit_events_in_order() -> Iterator[ChainEvent]:
    """Yield every audit event as written, oldest first, in bounded memory."""
    rows = AuditEvent.objects.order_by("pk").values_list(*CHAIN_FIELDS)
    for row in rows.iterator(chunk_size=2000):
        yield ChainEvent(*row)


def audit_chain_report() -> ChainReport:
    """Check the whole audit chain and return its count and first break."""
    return chain_verify(audit_events_in_order())
