"""Give the role groups the permissions `accounts.roles` maps them to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from accounts.models import AuditEvent
from accounts.roles import ROLE_RULES, role_permissions
from accounts.services.audit import audit_record


@dataclass(frozen=True)
class RoleSync:
    """What syncing one role changed ("app.codename" strings)."""

    role: str
    created: bool = False
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Return True if the group or its permissions changed."""
        return self.created or bool(self.added or self.removed)


@transaction.atomic
def roles_sync(*, now: datetime, prune: bool = False) -> list[RoleSync]:
    """Create the role groups and add the permissions the mapping gives them.

    Idempotent. Permissions given to a group by hand are kept unless
    `prune`. Each group that changes gets an audit event (actor: system).
    """
    permissions = {
        (p.content_type.app_label, p.content_type.model, p.codename): p
        for p in Permission.objects.select_related("content_type")
    }
    results = []
    for role, rules in ROLE_RULES.items():
        group, created = Group.objects.get_or_create(name=role)
        wanted = {permissions[key] for key in role_permissions(rules, permissions)}
        current = set(group.permissions.select_related("content_type"))
        to_add = wanted - current
        to_remove = current - wanted if prune else set()
        group.permissions.add(*to_add)
        group.permissions.remove(*to_remove)
        result = RoleSync(
            role=role,
            created=created,
            added=sorted(_label(p) for p in to_add),
            removed=sorted(_label(p) for p in to_remove),
        )
        if result.changed:
            after = (current | to_add) - to_remove
            action = AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE
            audit_record(
                actor=None,
                action=action,
                target=group,
                changes={
                    "permissions": [
                        None if created else sorted(_label(p) for p in current),
                        sorted(_label(p) for p in after),
                    ]
                },
                now=now,
            )
        results.append(result)
    return results


def _label(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"
