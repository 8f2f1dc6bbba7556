"""Writes to rules and per-job notification settings, audited."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.actors import Actor
from accounts.services.audit import audit_record
from jobs.models import Job
from notifications.models import JobState, Rule

_AUDITED = (
    "channel_id",
    "job_id",
    "triggers",
    "failing_n",
    "only_on_change",
    "is_active",
)


@transaction.atomic
def rule_save(
    *, rule: Rule, actor: Actor = None, now: datetime, ip: str | None = None
) -> Rule:
    """Validate and save `rule`; audit what changed."""
    creating = rule.pk is None
    before = (
        None if creating else Rule.objects.filter(pk=rule.pk).values(*_AUDITED).first()
    )
    rule.full_clean()
    rule.save()
    changes = {
        name: [before[name] if before else None, getattr(rule, name)]
        for name in _AUDITED
        if (before[name] if before else None) != getattr(rule, name)
    }
    audit_record(
        actor=actor,
        action="create" if creating else "update",
        target=rule,
        changes=changes,
        ip=ip,
        now=now,
    )
    return rule


@transaction.atomic
def rule_delete(
    *, rule: Rule, actor: Actor = None, now: datetime, ip: str | None = None
) -> None:
    """Delete `rule`, audited."""
    audit_record(actor=actor, action="delete", target=rule, ip=ip, now=now)
    rule.delete()


@transaction.atomic
def job_notify_settings_save(
    *,
    job: Job,
    muted_until: datetime | None,
    circuit_breaker_after: int | None,
    actor: Actor = None,
    now: datetime,
    ip: str | None = None,
) -> JobState:
    """Set a job's mute and circuit breaker threshold; audit the change."""
    state, _ = JobState.objects.select_for_update().get_or_create(job=job)
    changes = {
        name: [getattr(state, name), value]
        for name, value in (
            ("muted_until", muted_until),
            ("circuit_breaker_after", circuit_breaker_after),
        )
        if getattr(state, name) != value
    }
    state.muted_until = muted_until
    state.circuit_breaker_after = circuit_breaker_after
    state.full_clean()
    state.save()
    if changes:
        audit_record(
            actor=actor, action="update", target=state, changes=changes, ip=ip, now=now
        )
    return state
