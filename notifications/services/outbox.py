"""Turn run events into outbox rows, in the transaction of the event's ack.

The worker's notification step claims run events as the consumer
"notifications" (registered by a migration), and for each one, inside one
transaction: acks it, updates the job's failing streak, decides which rules
fire (`notifications.decisions`) and writes one `Notification` per channel.
If the ack does not count (another process acked it first), nothing is
written; if the process dies before commit, the event comes back after its
lease. Either way each event gives its notifications exactly once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from jobs import conf
from jobs.models import Job, JobRun, RunEvent
from jobs.services.events import run_events_ack, run_events_claim
from notifications import decisions, templating
from notifications.models import Channel, JobState, Notification, Rule

logger = logging.getLogger(__name__)

CONSUMER = "notifications"
# Characters of a run's (already masked) output a message carries.
OUTPUT_TAIL_CHARS = 1500
CLAIM_LIMIT = 100


def notifications_consume(*, now: datetime, limit: int = CLAIM_LIMIT) -> int:
    """Claim run events and write their notifications; return events handled."""
    claimed = run_events_claim(consumer=CONSUMER, limit=limit, now=now)
    for event in claimed:
        with transaction.atomic():
            if run_events_ack(consumer=CONSUMER, event_ids=[event.pk], now=now):
                _handle(event, now=now)
    return len(claimed)


def _handle(event: RunEvent, *, now: datetime) -> list[Notification]:
    """Update the job's streak and write the notifications `event` causes."""
    state, _ = JobState.objects.select_for_update().get_or_create(job_id=event.job_id)
    trigger = decisions.trigger_of(
        kind=event.kind, status=event.status, reason_code=event.reason_code
    )
    rules = {rule.pk: rule for rule in rules_for_job(event.job_id)}
    outcome = decisions.decide(
        trigger=trigger,
        streak=state.failing_streak,
        rules=[_spec(rule) for rule in rules.values()],
    )
    if outcome.streak != state.failing_streak:
        state.failing_streak = outcome.streak
        state.save(update_fields=["failing_streak"])
    if not outcome.fired or (state.muted_until and state.muted_until > now):
        return []
    run = JobRun.objects.select_related("job").get(pk=event.run_id)
    made: list[Notification] = []
    seen: set[int] = set()
    for rule_id, fired in outcome.fired:
        channel = rules[rule_id].channel
        if channel.pk in seen:
            continue
        seen.add(channel.pk)
        facts = run_facts(
            run, event=fired, attempt=event.attempt, streak=outcome.streak
        )
        made.append(notification_add(channel=channel, facts=facts, now=now, run=run))
    return made


def rules_for_job(job_id: int) -> Iterable[Rule]:
    """Return the active rules for a job: its own and the global ones."""
    return (
        Rule.objects.filter(Q(job_id=job_id) | Q(job__isnull=True), is_active=True)
        .filter(channel__is_active=True)
        .select_related("channel")
        .order_by("pk")
    )


def _spec(rule: Rule) -> decisions.RuleSpec:
    return decisions.RuleSpec(
        id=rule.pk,
        triggers=frozenset(str(name) for name in rule.triggers),
        failing_n=rule.failing_n,
        only_on_change=rule.only_on_change,
    )


def run_facts(run: JobRun, *, event: str, attempt: int, streak: int) -> dict[str, Any]:
    """Return the template variables for `run` (plain values only)."""
    duration = lateness = None
    if run.started_at and run.finished_at:
        duration = round((run.finished_at - run.started_at).total_seconds(), 3)
    if run.started_at:
        lateness = round((run.started_at - run.scheduled_for).total_seconds(), 3)
    path = reverse("admin:jobs_jobrun_change", args=[run.pk])
    return {
        "job": run.job.name,
        "job_id": run.job_id,
        "event": event,
        "event_label": decisions.LABELS.get(event, event),
        "run_id": run.pk,
        "status": run.status,
        "reason": run.reason,
        "reason_code": run.reason_code,
        "duration_seconds": duration,
        "exit_code": run.exit_code,
        "lateness_seconds": lateness,
        "output_tail": run.output[-OUTPUT_TAIL_CHARS:],
        "attempt": attempt,
        "streak": streak,
        "scheduled_for": run.scheduled_for.isoformat(),
        "admin_url": conf.public_url() + path,
    }


def notification_add(
    *,
    channel: Channel,
    facts: Mapping[str, Any],
    now: datetime,
    run: JobRun | None = None,
    job: Job | None = None,
) -> Notification:
    """Render `facts` with the channel's templates and queue the message."""
    subject = templating.render(
        channel.subject_template or templating.DEFAULT_SUBJECT, facts
    )
    body = templating.render(channel.body_template or templating.DEFAULT_BODY, facts)
    return Notification.objects.create(
        channel=channel,
        job=job or (run.job if run else None),
        run=run,
        event=str(facts.get("event", "")),
        idempotency_key=uuid.uuid4().hex,
        subject=subject,
        body=body,
        facts=dict(facts),
        created_at=now,
        next_attempt_at=now,
    )
