"""Writes to the script registry: keep it in step with the scripts directory.

A script is registered by its path relative to JOB_PORTAL_SCRIPTS_DIR with
the SHA-256, size and modification time of its content. A file whose
content changes goes back to pending review unless it is the approved
content again; approving and rejecting live in `jobs.services.approval`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db import IntegrityError, transaction

from accounts.actors import Actor
from accounts.models import AuditEvent
from accounts.services.audit import audit_record
from jobs import conf
from jobs.errors import JobsError
from jobs.models import Script
from jobs.script_content import ScriptStat, stat_script
from jobs.script_files import script_resolve
from jobs.script_paths import ScriptPathError

logger = logging.getLogger(__name__)

MSG_UNREADABLE = "Script {path!r} cannot be read: {error}"


class ScriptUnavailableError(JobsError, ValueError):
    """The script's file is missing, unsafe or unreadable."""


@dataclass
class SyncResult:
    """What a sync of the scripts directory found, by path."""

    registered: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    # Approved scripts whose content changed: pending review again.
    back_to_review: list[str] = field(default_factory=list)
    unchanged: int = 0


def scripts_sync(
    *, now: datetime, actor: Actor = None, ip: str | None = None
) -> SyncResult:
    """Register new script files, update changed ones, flag missing ones.

    A file counts if it resolves inside the scripts directory (symlinks
    pointing outside do not) and has an allowed extension; hidden folders
    and ``__pycache__`` are skipped. Changes are audited as done by `actor`
    (None: the system) from address `ip`.
    """
    result = SyncResult()
    seen: set[str] = set()
    for relative in script_files():
        try:
            path = script_resolve(relative)
            stat = stat_script(path)
        except (ScriptPathError, OSError):
            continue
        seen.add(relative)
        outcome = _record_stat(relative, stat, now=now, actor=actor, ip=ip)
        if outcome == _REGISTERED:
            result.registered.append(relative)
        elif outcome in (_CHANGED, _BACK_TO_REVIEW):
            result.changed.append(relative)
            if outcome == _BACK_TO_REVIEW:
                result.back_to_review.append(relative)
        else:
            result.unchanged += 1
    gone = Script.objects.filter(is_missing=False).exclude(path__in=seen)
    for script in gone:
        if _mark_missing(script.path, now=now, actor=actor, ip=ip):
            result.missing.append(script.path)
    logger.info(
        "Scripts synced: %s new, %s changed, %s missing, %s unchanged",
        len(result.registered),
        len(result.changed),
        len(result.missing),
        result.unchanged,
    )
    return result


def script_sync_path(
    *,
    path: str,
    now: datetime,
    actor: Actor = None,
) -> Script:
    """Register or update the one script `path` from the file as it is now.

    Raise `ScriptUnavailableError` if the path is unsafe or unreadable; a
    registered script is then flagged missing.
    """
    try:
        stat = stat_script(script_resolve(path))
    except (ScriptPathError, OSError) as exc:
        _mark_missing(path, now=now, actor=actor)
        raise ScriptUnavailableError(unavailable_message(path, exc)) from None
    _record_stat(path, stat, now=now, actor=actor)
    return Script.objects.get(path=path)


def script_files() -> list[str]:
    """Return the scripts directory's files with an allowed extension, sorted.

    Relative paths; hidden folders and ``__pycache__`` are skipped. Whether
    each one resolves safely is checked by whoever uses it.
    """
    root = conf.scripts_dir()
    allowed = tuple(ext.lower() for ext in conf.allowed_extensions())
    found = []
    # followlinks=False: a symlinked folder could lead anywhere; files that
    # are symlinks are still listed and resolved (and refused if outside).
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and d != "__pycache__"
        )
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(allowed):
                continue
            found.append((Path(folder) / name).relative_to(root).as_posix())
    return sorted(found)


def unavailable_message(path: str, exc: Exception) -> str:
    """Return why script `path` cannot be used, for a `ScriptUnavailableError`."""
    if isinstance(exc, ScriptPathError):
        return str(exc)
    return MSG_UNREADABLE.format(path=path, error=getattr(exc, "strerror", exc))


# --- internals ---------------------------------------------------------------

_REGISTERED = "registered"
_CHANGED = "changed"
_BACK_TO_REVIEW = "back_to_review"
_UNCHANGED = "unchanged"


def _status_after_change(script: Script, new_sha256: str) -> str:
    """Return the status of `script` once its content hash is `new_sha256`."""
    if script.approved_sha256 and new_sha256 == script.approved_sha256:
        # Back to exactly the approved content (a revert): runnable again.
        return Script.Status.APPROVED
    if new_sha256 != script.sha256:
        return Script.Status.PENDING
    return script.status


def _record_stat(
    path: str,
    stat: ScriptStat,
    *,
    now: datetime,
    actor: Actor,
    ip: str | None = None,
) -> str:
    """Store what the file `path` holds now; return what kind of change it was."""
    try:
        return _record_stat_once(path, stat, now=now, actor=actor, ip=ip)
    except IntegrityError:
        # Another process (a second worker starting a run of the same new
        # script) registered it first; update that row instead.
        return _record_stat_once(path, stat, now=now, actor=actor, ip=ip)


def _record_stat_once(
    path: str,
    stat: ScriptStat,
    *,
    now: datetime,
    actor: Actor,
    ip: str | None,
) -> str:
    """Do one attempt of `_record_stat` in its own transaction."""
    with transaction.atomic():
        script = Script.objects.select_for_update().filter(path=path).first()
        if script is None:
            script = Script(
                path=path,
                sha256=stat.sha256,
                size_bytes=stat.size_bytes,
                modified_at=stat.modified_at,
                status=Script.Status.PENDING,
                registered_at=now,
                updated_at=now,
            )
            # Uniqueness is the database's to enforce: a check here would race.
            script.full_clean(validate_unique=False)
            script.save()
            _audit(
                actor,
                AuditEvent.Action.CREATE,
                script,
                {"sha256": [None, stat.sha256]},
                now,
                ip,
            )
            logger.info("Script %s registered (%s)", path, stat.sha256)
            return _REGISTERED
        same = (
            script.sha256 == stat.sha256
            and script.size_bytes == stat.size_bytes
            and script.modified_at == stat.modified_at
            and not script.is_missing
        )
        if same:
            return _UNCHANGED
        old_sha256, old_status, was_missing = (
            script.sha256,
            script.status,
            script.is_missing,
        )
        script.status = _status_after_change(script, stat.sha256)
        script.sha256 = stat.sha256
        script.size_bytes = stat.size_bytes
        script.modified_at = stat.modified_at
        script.is_missing = False
        script.updated_at = now
        script.save()
        changes: dict[str, list[object]] = {}
        if old_sha256 != stat.sha256:
            changes["sha256"] = [old_sha256, stat.sha256]
        if old_status != script.status:
            changes["status"] = [old_status, script.status]
        if was_missing:
            changes["missing"] = [True, False]
        if changes:
            _audit(actor, AuditEvent.Action.UPDATE, script, changes, now, ip)
    if old_sha256 == stat.sha256:
        return _CHANGED if was_missing else _UNCHANGED
    if old_status == Script.Status.APPROVED and script.status == Script.Status.PENDING:
        logger.warning("Approved script %s changed: pending review again", path)
        return _BACK_TO_REVIEW
    logger.info("Script %s changed (%s)", path, stat.sha256)
    return _CHANGED


def _mark_missing(
    path: str, *, now: datetime, actor: Actor, ip: str | None = None
) -> bool:
    """Flag registered script `path` missing; return True if that is news."""
    with transaction.atomic():
        updated = Script.objects.filter(path=path, is_missing=False).update(
            is_missing=True, updated_at=now
        )
        if updated:
            script = Script.objects.get(path=path)
            _audit(
                actor,
                AuditEvent.Action.UPDATE,
                script,
                {"missing": [False, True]},
                now,
                ip,
            )
            logger.warning("Script %s is missing", path)
    return bool(updated)


def _audit(
    actor: Actor,
    action: str,
    script: Script,
    changes: dict[str, list[object]],
    now: datetime,
    ip: str | None = None,
) -> None:
    audit_record(
        actor=actor, action=action, target=script, changes=changes, ip=ip, now=now
    )
