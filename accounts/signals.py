"""Record sign-ins, failed sign-ins and sign-outs (Django's auth signals)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.http import HttpRequest

from accounts.client import request_ip
from accounts.models import AuditEvent
from accounts.services.audit import AuditTarget, audit_record, audit_target
from jobportal import clock


def on_user_logged_in(
    sender: Any, request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    """Record a successful sign-in."""
    audit_record(
        actor=user,
        action=AuditEvent.Action.SIGN_IN,
        target=user,
        ip=request_ip(request),
        now=clock.now(),
    )


def on_user_logged_out(
    sender: Any,
    request: HttpRequest | None,
    user: User | None,
    **kwargs: Any,
) -> None:
    """Record a sign-out (of a signed-in user)."""
    if user is None or not user.pk:
        return
    audit_record(
        actor=user,
        action=AuditEvent.Action.SIGN_OUT,
        target=user,
        ip=request_ip(request),
        now=clock.now(),
    )


def on_user_login_failed(
    sender: Any,
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    """Record a failed sign-in with the name that was tried (never the password)."""
    user_model = get_user_model()
    tried = str(credentials.get(user_model.USERNAME_FIELD, ""))[:150]
    existing = user_model._default_manager.filter(
        **{user_model.USERNAME_FIELD: tried}
    ).first()
    target = (
        audit_target(existing)
        if existing is not None
        else AuditTarget(type=user_model._meta.label_lower, id="", repr=tried)
    )
    audit_record(
        actor=None,
        action=AuditEvent.Action.SIGN_IN_FAILED,
        target=target,
        changes={"username": [None, tried]},
        ip=request_ip(request),
        now=clock.now(),
    )
