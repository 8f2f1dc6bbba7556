"""Grant and revoke per-job rights (guardian object permissions), audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm, remove_perm

from accounts.actors import Actor
from accounts.models import AuditEvent
from accounts.services.audit import audit_record
from jobs.models import Job
from jobs.permissions import JOB_OBJECT_PERMISSIONS

MSG_UNKNOWN_RIGHT = "Unknown job permission {codename!r}; use one of: {choices}."
CHANGES_KEY = "permissions of {grantee}"


@dataclass(frozen=True)
class GrantChange:
    """What setting one grantee's rights on one object changed."""

    granted: list[str]
    revoked: list[str]


def grantee_label(grantee: User | Group) -> str:
    """Return "user alice" or "group Operators"."""
    if isinstance(grantee, Group):
        return f"group {grantee.name}"
    return f"user {grantee.get_username()}"


def job_rights_of(grantee: User | Group, job: Job) -> set[str]:
    """Return the per-job rights granted directly to `grantee` on `job`."""
    filters = {
        "content_type": ContentType.objects.get_for_model(Job),
        "object_pk": str(job.pk),
    }
    rows: QuerySet[UserObjectPermission] | QuerySet[GroupObjectPermission]
    if isinstance(grantee, Group):
        rows = GroupObjectPermission.objects.filter(group=grantee, **filters)
    else:
        rows = UserObjectPermission.objects.filter(user=grantee, **filters)
    held = set(rows.values_list("permission__codename", flat=True))
    return held & set(JOB_OBJECT_PERMISSIONS)


@transaction.atomic
def job_rights_set(
    *,
    job: Job,
    grantee: User | Group,
    rights: Iterable[str],
    actor: Actor,
    ip: str | None = None,
    now: datetime,
) -> GrantChange:
    """Make `rights` exactly the per-job rights `grantee` holds on `job`.

    Records a "grant" event for what was added and a "revoke" event for
    what was removed. Raise `ValidationError` for an unknown right.
    """
    wanted = set(rights)
    for codename in sorted(wanted - set(JOB_OBJECT_PERMISSIONS)):
        raise ValidationError(
            MSG_UNKNOWN_RIGHT.format(
                codename=codename, choices=", ".join(JOB_OBJECT_PERMISSIONS)
            )
        )
    current = job_rights_of(grantee, job)
    granted, revoked = sorted(wanted - current), sorted(current - wanted)
    for codename in granted:
        assign_perm(f"jobs.{codename}", grantee, job)
    for codename in revoked:
        remove_perm(f"jobs.{codename}", grantee, job)
    key = CHANGES_KEY.format(grantee=grantee_label(grantee))
    if granted:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.GRANT,
            target=job,
            changes={key: [sorted(current), sorted(current | set(granted))]},
            ip=ip,
            now=now,
        )
    if revoked:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.REVOKE,
            target=job,
            changes={key: [sorted(current | set(granted)), sorted(wanted)]},
            ip=ip,
            now=now,
        )
    return GrantChange(granted=granted, revoked=revoked)


def object_permissions_clear(*, obj: Model) -> int:
    """Delete every object permission on `obj` (before it is deleted).

    guardian keys object permissions by content type and primary key
    without a foreign key, so they would outlive the object.
    """
    content_type = ContentType.objects.get_for_model(obj)
    filters = {"content_type": content_type, "object_pk": str(obj.pk)}
    users, _ = UserObjectPermission.objects.filter(**filters).delete()
    groups, _ = GroupObjectPermission.objects.filter(**filters).delete()
    return users + groups
