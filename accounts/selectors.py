"""Reads of accounts data that span rows: the audit chain, the people."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.models import User
from django.db.models import QuerySet
from guardian.conf import settings as guardian_settings

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


def people(queryset: QuerySet[User] | None = None) -> QuerySet[User]:
    """Return users who are people: without django-guardian's AnonymousUser.

    Guardian keeps a user row to hold anonymous visitors' object
    permissions; it can neither sign in nor own anything, so user lists and
    owner choices leave it out.
    """
    if queryset is None:
        queryset = User.objects.all()
    return queryset.exclude(username=guardian_settings.ANONYMOUS_USER_NAME)
