"""Blackout calendars: save and delete them with their windows, audited.

The admin and the API both call these. A calendar's windows are replaced as
a whole; changing a calendar does not touch `Job.next_run_at`, because a
blackout decides what a slot becomes when it is recorded
(`jobs.services.due`), not when the slot is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.actors import Actor
from accounts.models import AuditEvent
from accounts.services.audit import audit_record
from jobs.models import BlackoutCalendar, BlackoutWindow

logger = logging.getLogger(__name__)

MSG_WINDOW = "Window {position}: {field}: {message}"


def calendar_snapshot(calendar: BlackoutCalendar) -> dict[str, Any]:
    """Return the calendar as the audit log compares it: fields and windows."""
    if calendar.pk is None:
        return {}
    return {
        "name": calendar.name,
        "timezone": calendar.timezone,
        "global": calendar.is_global,
        "description": calendar.description,
        "windows": sorted(w.display_label for w in calendar.windows.all()),
    }


@transaction.atomic
def blackout_calendar_save(
    *,
    calendar: BlackoutCalendar,
    windows: Sequence[BlackoutWindow] | None,
    now: datetime,
    actor: Actor = None,
    ip: str | None = None,
) -> BlackoutCalendar:
    """Validate and save `calendar`, replacing its windows if given.

    Raise `ValidationError` (windows' errors under "windows", by position)
    and write nothing when any part is invalid. Audited as a create or an
    update with the changes.
    """
    creating = calendar.pk is None
    before = {} if creating else calendar_snapshot(_stored(calendar.pk))
    calendar.full_clean()
    if windows is not None:
        _clean_windows(windows)
    calendar.save()
    if windows is not None:
        calendar.windows.all().delete()
        for window in windows:
            window.pk = None
            window.calendar = calendar
        BlackoutWindow.objects.bulk_create(windows)
    after = calendar_snapshot(_stored(calendar.pk))
    changes = {
        key: [before.get(key), value]
        for key, value in after.items()
        if before.get(key) != value
    }
    if changes:
        action = AuditEvent.Action.CREATE if creating else AuditEvent.Action.UPDATE
        audit_record(
            actor=actor, action=action, target=calendar, changes=changes, ip=ip, now=now
        )
        logger.info("Blackout calendar %s saved", calendar.name)
    return calendar


def _stored(pk: int) -> BlackoutCalendar:
    return BlackoutCalendar.objects.prefetch_related("windows").get(pk=pk)


def _clean_windows(windows: Sequence[BlackoutWindow]) -> None:
    """Validate every window; raise naming each bad window and field."""
    messages: list[str] = []
    for position, window in enumerate(windows, 1):
        try:
            window.full_clean(exclude=["calendar"])
        except ValidationError as exc:
            messages.extend(
                MSG_WINDOW.format(position=position, field=field, message=message)
                for field, field_messages in exc.message_dict.items()
                for message in field_messages
            )
    if messages:
        raise ValidationError({"windows": messages})


@transaction.atomic
def blackout_calendar_delete(
    *,
    calendar: BlackoutCalendar,
    now: datetime,
    actor: Actor = None,
    ip: str | None = None,
) -> None:
    """Delete `calendar` and its windows; its jobs simply lose it (audited)."""
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        target=calendar,
        changes={"name": [calendar.name, None]},
        ip=ip,
        now=now,
    )
    calendar.delete()
    logger.info("Blackout calendar %s deleted", calendar.name)
