"""Reads of accounts data that span rows: the audit chain, object grants."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractUser, Group
from django.contrib.contenttypes.models import ContentType
from guardian.models import GroupObjectPermission, UserObjectPermission

from accounts.audit_chain import ChainEvent, ChainReport, chain_verify
from accounts.models import AuditEvent
from accounts.permissions import JOB_OBJECT_PERMISSIONS
from jobs.models import Job

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


@dataclass(frozen=True)
class JobGrant:
    """The per-job rights granted to one user or group on one job."""

    grantee: AbstractUser | Group
    rights: tuple[str, ...]

    @property
    def is_group(self) -> bool:
        """Return True if the grantee is a group."""
        return isinstance(self.grantee, Group)


def job_grants(job: Job) -> list[JobGrant]:
    """Return who was granted what on `job`: users first, then groups, by name."""
    filters = {
        "content_type": ContentType.objects.get_for_model(Job),
        "object_pk": str(job.pk),
        "permission__codename__in": JOB_OBJECT_PERMISSIONS,
    }
    by_user: dict[int, tuple[Any, set[str]]] = {}
    for row in UserObjectPermission.objects.filter(**filters).select_related(
        "user", "permission"
    ):
        by_user.setdefault(row.user_id, (row.user, set()))[1].add(
            row.permission.codename
        )
    by_group: dict[int, tuple[Any, set[str]]] = {}
    for row in GroupObjectPermission.objects.filter(**filters).select_related(
        "group", "permission"
    ):
        by_group.setdefault(row.group_id, (row.group, set()))[1].add(
            row.permission.codename
        )
    order = {codename: i for i, codename in enumerate(JOB_OBJECT_PERMISSIONS)}
    users = sorted(by_user.values(), key=lambda item: item[0].get_username())
    groups = sorted(by_group.values(), key=lambda item: item[0].name)
    return [
        JobGrant(grantee, tuple(sorted(rights, key=order.__getitem__)))
        for grantee, rights in [*users, *groups]
    ]
