"""Script approval: approve or reject content, and say why a script may not run.

Approval pins a hash: with JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL on, a run
starts only if the file, hashed right before the run, still has the hash an
approver approved (DESIGN.md, "Scripts and approval"). Approving reads the
file again and pins exactly the bytes the reviewer saw.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction

from accounts.models import AuditEvent
from accounts.services.audit import audit_record
from jobs import conf, reasons
from jobs.bundled_scripts import BUNDLED_SCRIPT_SHA256
from jobs.errors import JobsError
from jobs.models import Script, ScriptReview
from jobs.permissions import can_approve_scripts
from jobs.script_content import decode_text, read_script
from jobs.script_paths import ScriptPathError
from jobs.services.scripts import (
    ScriptUnavailableError,
    script_resolve,
    script_sync_path,
    unavailable_message,
)

logger = logging.getLogger(__name__)


MSG_NOT_APPROVER = (
    "Only users with the permission to approve scripts (the Admin role) may "
    "approve or reject them."
)
MSG_CHANGED_DURING_REVIEW = (
    "Script {path!r} changed while it was being reviewed; review the current "
    "content and try again."
)
MSG_BLOCK_PATH = "The script cannot run: {error}"
MSG_BLOCK_NEVER_APPROVED = (
    "Script {path!r} is pending review: it has never been approved, and "
    "script approval is required."
)
MSG_BLOCK_CHANGED = (
    "Script {path!r} changed since approval on {date} by {user}; it is pending "
    "review again."
)
MSG_BLOCK_REJECTED = "Script {path!r} was rejected on {date} by {user}{note}."
MSG_BLOCK_PENDING = "Script {path!r} is pending review."
UNKNOWN_USER = "an unknown user"
MSG_FIRST_START_NOTE = "approved at first start by {user}"


class ScriptPermissionError(JobsError, PermissionError):
    """The user may not approve or reject scripts."""


class ScriptChangedError(JobsError, ValueError):
    """The script's content changed while a reviewer was looking at it."""


def script_block_reason(*, script_path: str, now: datetime) -> str | None:
    """Return why script `script_path` may not run now, or None if it may.

    The reason is a `jobs.reasons.CodedReason`: its code tells a refused
    path, an unapproved and a rejected script apart.

    The file is hashed now and the registry updated from it, so a change
    made since the last sync is caught here, right before the run; a
    changed approved script goes back to pending review. Without required
    approval nothing is checked here: the caller checks path safety.
    """
    if not conf.require_script_approval():
        # Without approval the caller's path check is all there is to do;
        # hashing and a registry write on every run would only cost time.
        return None
    try:
        script = script_sync_path(path=script_path, now=now)
    except ScriptUnavailableError as exc:
        return reasons.CodedReason(
            MSG_BLOCK_PATH.format(error=exc), code=reasons.PATH_REFUSED
        )
    if script.is_runnable:
        return None
    code = (
        reasons.SCRIPT_REJECTED
        if script.status == Script.Status.REJECTED
        else reasons.SCRIPT_UNAPPROVED
    )
    return reasons.CodedReason(script_block_message(script), code=code)


def script_block_message(script: Script) -> str:
    """Return, in words, why `script`'s current content may not run."""
    if script.status == Script.Status.REJECTED:
        review = script.reviews.filter(action=ScriptReview.Action.REJECT).first()
        if review is not None:
            note = f": {review.note}" if review.note else ""
            return MSG_BLOCK_REJECTED.format(
                path=script.path,
                date=_date(review.at),
                user=review.actor_name or UNKNOWN_USER,
                note=note,
            )
    if script.has_changed_since_approval and script.approved_at is not None:
        return MSG_BLOCK_CHANGED.format(
            path=script.path,
            date=_date(script.approved_at),
            user=script.approved_by_name or UNKNOWN_USER,
        )
    if script.approved_at is None:
        return MSG_BLOCK_NEVER_APPROVED.format(path=script.path)
    # Approved once, but that approval was revoked by a rejection.
    return MSG_BLOCK_PENDING.format(path=script.path)


def script_approve(
    *,
    script: Script,
    actor: User,
    note: str = "",
    now: datetime,
    expected_sha256: str | None = None,
    ip: str | None = None,
) -> Script:
    """Approve the script's current content, as read from disk now.

    `expected_sha256` is the hash of the content the reviewer saw; if the
    file no longer has it, nothing is approved (`ScriptChangedError`).
    Raise `ScriptPermissionError` unless `actor` may approve scripts and
    `ScriptUnavailableError` if the file cannot be read.
    """
    return _review(
        script=script,
        actor=actor,
        action=ScriptReview.Action.APPROVE,
        note=note,
        now=now,
        expected_sha256=expected_sha256,
        ip=ip,
    )


def script_reject(
    *,
    script: Script,
    actor: User,
    note: str = "",
    now: datetime,
    expected_sha256: str | None = None,
    ip: str | None = None,
) -> Script:
    """Reject the script's current content, as read from disk now.

    Rejecting the very content that was approved revokes that approval.
    Same errors as `script_approve`.
    """
    return _review(
        script=script,
        actor=actor,
        action=ScriptReview.Action.REJECT,
        note=note,
        now=now,
        expected_sha256=expected_sha256,
        ip=ip,
    )


def scripts_approve_bundled(*, actor: User, now: datetime) -> list[Script]:
    """Approve the bundled example scripts as `actor`, once, on a fresh install.

    Nothing happens once any script has ever been reviewed: this is the first
    start's convenience, not a standing rule. Only a pending file whose
    content still has its hash in `BUNDLED_SCRIPT_SHA256` is approved (the file
    is read again and pinned to that hash), so an edited example stays
    pending. Return the scripts approved, by path.
    """
    if ScriptReview.objects.exists():
        return []
    approved = []
    candidates = Script.objects.filter(
        path__in=list(BUNDLED_SCRIPT_SHA256),
        status=Script.Status.PENDING,
        is_missing=False,
    ).order_by("path")
    note = MSG_FIRST_START_NOTE.format(user=actor.get_username())
    for script in candidates:
        expected = BUNDLED_SCRIPT_SHA256[script.path]
        if script.sha256 != expected:
            continue
        try:
            approved.append(
                script_approve(
                    script=script,
                    actor=actor,
                    note=note,
                    now=now,
                    expected_sha256=expected,
                )
            )
        except (ScriptChangedError, ScriptUnavailableError):
            # Edited or removed since the sync: leave it for a reviewer.
            continue
    return approved


# --- internals ---------------------------------------------------------------


def _review(
    *,
    script: Script,
    actor: User,
    action: str,
    note: str,
    now: datetime,
    expected_sha256: str | None,
    ip: str | None,
) -> Script:
    if not can_approve_scripts(actor):
        raise ScriptPermissionError(MSG_NOT_APPROVER)
    try:
        current = read_script(script_resolve(script.path))
    except (ScriptPathError, OSError) as exc:
        raise ScriptUnavailableError(unavailable_message(script.path, exc)) from None
    if expected_sha256 is not None and current.sha256 != expected_sha256:
        raise ScriptChangedError(MSG_CHANGED_DURING_REVIEW.format(path=script.path))
    name = actor.get_username()
    with transaction.atomic():
        script = Script.objects.select_for_update().get(pk=script.pk)
        before = {"status": script.status, "approved_sha256": script.approved_sha256}
        script.sha256 = current.sha256
        script.size_bytes = current.size_bytes
        script.modified_at = current.modified_at
        script.is_missing = False
        script.updated_at = now
        if action == ScriptReview.Action.APPROVE:
            script.status = Script.Status.APPROVED
            script.approved_sha256 = current.sha256
            script.approved_content = decode_text(current.content)
            script.approved_by = actor
            script.approved_by_name = name
            script.approved_at = now
        else:
            script.status = Script.Status.REJECTED
            if script.approved_sha256 == current.sha256:
                # Rejecting what was approved revokes it; the snapshot stays
                # for the diff view.
                script.approved_sha256 = ""
        script.full_clean()
        script.save()
        ScriptReview.objects.create(
            script=script,
            action=action,
            sha256=current.sha256,
            note=note,
            actor=actor,
            actor_name=name,
            at=now,
        )
        after = {"status": script.status, "approved_sha256": script.approved_sha256}
        changes: dict[str, list[str | None]] = {
            key: [before[key], after[key]]
            for key in before
            if before[key] != after[key]
        }
        changes["sha256"] = [None, current.sha256]
        if note:
            changes["note"] = [None, note]
        audit_action = (
            AuditEvent.Action.APPROVE
            if action == ScriptReview.Action.APPROVE
            else AuditEvent.Action.REJECT
        )
        audit_record(
            actor=actor,
            action=audit_action,
            target=script,
            changes=changes,
            ip=ip,
            now=now,
        )
    logger.info("Script %s %s by %s (%s)", script.path, action, name, current.sha256)
    return script


def _date(at: datetime) -> str:
    """Return `at` as a date in the portal's timezone, e.g. 2026-12-01."""
    return at.astimezone(ZoneInfo(conf.default_timezone())).date().isoformat()
