"""Run one past slot of a job again, now ("run this slot now").

The timeline (admin and API) offers it for a slot that was skipped,
folded, blocked, failed, timed out, cancelled, lost or missing. The new
run is the slot's next attempt (same `scheduled_for`), queued now by the
person who asked, and audited as a "run" naming the slot.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from accounts.actors import Actor
from accounts.models import AuditEvent
from accounts.services.audit import audit_record
from jobs.errors import JobsError
from jobs.models import Job, JobRun
from jobs.selectors_timeline import job_timeline
from jobs.wakeup import wakeup_notify

logger = logging.getLogger(__name__)

MSG_NOT_A_SLOT = "{at} is not a slot of this job's schedules."
MSG_NOT_RERUNNABLE = (
    "The slot at {at} cannot be run again: it is {outcome} (only a skipped, "
    "failed or missing slot can)."
)
MSG_IN_FUTURE = "The slot at {at} is not due yet."
MSG_RACE = "A run for the slot at {at} was queued meanwhile."


class SlotError(JobsError):
    """The slot cannot be run again (not a slot, not due, or not rerunnable)."""


def job_slot_run(
    *,
    job: Job,
    slot: datetime,
    requested_by: Actor,
    now: datetime,
    ip: str | None = None,
) -> JobRun:
    """Queue the next attempt of `job`'s slot `slot` now; raise SlotError if not."""
    text = slot.isoformat()
    if slot > now:
        raise SlotError(MSG_IN_FUTURE.format(at=text))
    found = job_timeline(
        job=job, since=slot, until=slot + timedelta(microseconds=1), now=now
    ).entries
    entry = next((e for e in found if e.at == slot), None)
    if entry is None:
        raise SlotError(MSG_NOT_A_SLOT.format(at=text))
    if not entry.can_run_now:
        raise SlotError(MSG_NOT_RERUNNABLE.format(at=text, outcome=entry.outcome))
    attempt = max((run.attempt for run in entry.runs), default=0) + 1
    run = JobRun(
        job=job,
        scheduled_for=slot,
        attempt=attempt,
        trigger=JobRun.Trigger.MANUAL,
        status=JobRun.Status.QUEUED,
        queued_at=now,
        not_before=now,
        priority=job.priority,
        triggered_by=requested_by if requested_by and requested_by.pk else None,
    )
    try:
        with transaction.atomic():
            run.save()
            audit_record(
                actor=requested_by,
                action=AuditEvent.Action.RUN,
                target=job,
                changes={"run": [None, run.pk], "slot": [None, text]},
                ip=ip,
                now=now,
            )
    except IntegrityError:
        raise SlotError(MSG_RACE.format(at=text)) from None
    wakeup_notify()
    logger.info("Slot %s of job %s queued again by %s", text, job.pk, requested_by)
    return run
