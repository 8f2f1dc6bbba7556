"""The circuit breaker: pause a job after N failures in a row; resume it.

Off by default (JOB_PORTAL_CIRCUIT_BREAKER_AFTER=0); a job's notification
state may set its own N (0: never). When a failure brings the streak to N,
the job is deactivated (`jobs.services.jobs.job_set_active`, so a version
and a "deactivate" audit event are written), an audit event
``circuit_open`` records why (reason code `jobs.reasons.CIRCUIT_OPEN`), and
every channel with a rule for the job gets a ``circuit_open`` notification.
`job_circuit_resume` (admin action, API) activates it again and resets the
streak.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction

from accounts.actors import Actor
from accounts.services.audit import audit_record
from jobs import conf, reasons
from jobs.models import Job, JobRun
from jobs.services.jobs import job_set_active
from notifications import decisions
from notifications.models import JobState, Notification, Rule

ACTION_OPEN = "circuit_open"
ACTION_RESUME = "circuit_resume"


def threshold(state: JobState) -> int:
    """Return the streak that opens the job's circuit (0: never)."""
    if state.circuit_breaker_after is not None:
        return state.circuit_breaker_after
    return conf.circuit_breaker_after()


def circuit_trips(state: JobState, *, before: int) -> bool:
    """Return True if the streak just reached the job's threshold."""
    limit = threshold(state)
    return bool(limit) and before < limit <= state.failing_streak


def circuit_open(
    *,
    state: JobState,
    run: JobRun,
    rules: Sequence[Rule],
    facts: dict[str, Any],
    now: datetime,
) -> list[Notification]:
    """Pause the job, audit why and return its notifications (unsaved)."""
    job = Job.objects.get(pk=state.pk)
    job_set_active(job=job, is_active=False, now=now)
    state.circuit_opened_at = now
    state.save(update_fields=["circuit_opened_at"])
    audit_record(
        actor=None,
        action=ACTION_OPEN,
        target=job,
        changes={
            "reason_code": [None, reasons.CIRCUIT_OPEN],
            "failing_streak": [None, state.failing_streak],
        },
        now=now,
    )
    facts = {
        **facts,
        "event": decisions.CIRCUIT_OPEN,
        "event_label": decisions.LABELS[decisions.CIRCUIT_OPEN],
        "reason_code": reasons.CIRCUIT_OPEN,
    }
    channels = {rule.channel.pk: rule.channel for rule in rules}
    return [
        Notification(
            channel=channel,
            job=job,
            run=run,
            event=decisions.CIRCUIT_OPEN,
            idempotency_key=uuid.uuid4().hex,
            facts=facts,
            created_at=now,
            next_attempt_at=now,
        )
        for channel in channels.values()
    ]


@transaction.atomic
def job_circuit_resume(
    *, job: Job, actor: Actor = None, now: datetime, ip: str | None = None
) -> Job:
    """Activate a paused job again and reset its failing streak, audited."""
    JobState.objects.filter(pk=job.pk).update(failing_streak=0, circuit_opened_at=None)
    job = job_set_active(job=job, is_active=True, now=now, actor=actor, ip=ip)
    audit_record(actor=actor, action=ACTION_RESUME, target=job, ip=ip, now=now)
    return job
