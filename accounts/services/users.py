"""Writes to accounts' users: the first administrator; audited user states."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

from accounts.models import UserPreference

# User fields the audit log follows (the password only as "changed").
USER_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "is_active",
    "is_staff",
    "is_superuser",
    "password",
)


@transaction.atomic
def admin_ensure(*, username: str, login_file: Path) -> tuple[User, str]:
    """Return the superuser `username`, creating it once; the password if created.

    The generated password is kept in `login_file` (mode 0600); it is
    returned only by the call that created the user (later calls return
    ""), so that it is printed once and not into every start's log.
    """
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is not None:
        return user, ""
    password = secrets.token_urlsafe(12)
    user = user_model.objects.create_superuser(username=username, password=password)
    login_file.parent.mkdir(parents=True, exist_ok=True)
    login_file.touch(mode=0o600)
    login_file.write_text(f"{username}\n{password}\n")
    return user, password


def permission_labels(permissions: Any) -> list[str]:
    """Return permissions as sorted "app_label.codename" strings."""
    return sorted(
        f"{p.content_type.app_label}.{p.codename}"
        for p in permissions.select_related("content_type")
    )


def user_state(user: User) -> dict[str, Any]:
    """Return what the audit log compares of a user, read from the database.

    The password hash is included only to notice a change; the audit log
    hides its value.
    """
    stored = type(user).objects.get(pk=user.pk)
    state: dict[str, Any] = {name: getattr(stored, name) for name in USER_FIELDS}
    state["groups"] = sorted(stored.groups.values_list("name", flat=True))
    state["user_permissions"] = permission_labels(
        Permission.objects.filter(user=stored)
    )
    return state


def group_state(group: Group) -> dict[str, Any]:
    """Return what the audit log compares of a group, read from the database."""
    stored = Group.objects.get(pk=group.pk)
    return {
        "name": stored.name,
        "permissions": permission_labels(stored.permissions.all()),
    }


def user_preference_get(*, user: User) -> UserPreference:
    """Return `user`'s display settings, creating the empty row once."""
    preference, _ = UserPreference.objects.get_or_create(user=user)
    return preference
