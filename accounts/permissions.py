"""Who may do what with accounts: the audit log and API keys.

The job access policy builds on `is_active_user` in `jobs.permissions`.
Inactive and anonymous users may do nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeGuard

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser

    User = AbstractUser | AnonymousUser

VIEW_AUDIT = "accounts.view_auditevent"
MANAGE_ALL_API_KEYS = "accounts.change_apikey"


def is_active_user(user: User | None) -> TypeGuard[AbstractUser]:
    """Return True for a signed-in, active user."""
    return bool(user is not None and user.is_authenticated and user.is_active)


def can_manage_all_api_keys(user: User | None) -> bool:
    """Return True if `user` sees and revokes everyone's API keys (admin)."""
    return is_active_user(user) and user.has_perm(MANAGE_ALL_API_KEYS)


def can_view_audit_log(user: User | None) -> bool:
    """Return True if `user` may read the audit log."""
    return is_active_user(user) and user.has_perm(VIEW_AUDIT)
