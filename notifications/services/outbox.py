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
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from jobs import conf
from jobs.models import JobRun, RunEvent
from jobs.services.events import run_events_ack, run_events_claim
from notifications import decisions, templating
from notifications.models import Channel, JobState, Notification, Rule
from notifications.services import circuit

logger = logging.getLogger(__name__)

CONSUMER = "notifications"
# Characters of a run's (already masked) output a message carries.
OUTPUT_TAIL_CHARS = 1500
CLAIM_LIMIT = 20


def notifications_consume(*, now: datetime, limit: int = CLAIM_LIMIT) -> int:
    """Claim run events and write their notifications; return events handled.

    Rules and runs are read before the transaction, messages are rendered
    when sent: the transaction that acks the batch and writes its rows is a
    handful of statements, so it holds the database's write lock (SQLite)
    only briefly and the scheduler is not kept waiting.
    """
    claimed = run_events_claim(consumer=CONSUMER, limit=limit, now=now)
    if not claimed:
        return 0
    job_ids = {event.job_id for event in claimed}
    rules = list(rules_for_jobs(job_ids))
    runs = JobRun.objects.select_related("job").in_bulk({e.run_id for e in claimed})
    try:
        with transaction.atomic():
            ids = [event.pk for event in claimed]
            if run_events_ack(consumer=CONSUMER, event_ids=ids, now=now) != len(ids):
                raise _PartlyAckedError
            _handle(claimed, rules=rules, runs=runs, now=now)
    except _PartlyAckedError:
        # Another process acked some of them first: one by one, each kept
        # only if its own ack counts.
        for event in claimed:
            with transaction.atomic():
                if run_events_ack(consumer=CONSUMER, event_ids=[event.pk], now=now):
                    _handle([event], rules=rules, runs=runs, now=now)
    return len(claimed)


class _PartlyAckedError(Exception):
    """Some events of a batch were acked by another process meanwhile."""


def _handle(
    events: Sequence[RunEvent],
    *,
    rules: Sequence[Rule],
    runs: Mapping[int, JobRun],
    now: datetime,
) -> list[Notification]:
    """Update the jobs' streaks and write the notifications `events` cause."""
    states = _states_locked({event.job_id for event in events})
    changed: set[int] = set()
    made: list[Notification] = []
    for event in events:
        state = states[event.job_id]
        job_rules = [r for r in rules if r.job_id in (None, event.job_id)]
        trigger = decisions.trigger_of(
            kind=event.kind, status=event.status, reason_code=event.reason_code
        )
        outcome = decisions.decide(
            trigger=trigger,
            streak=state.failing_streak,
            rules=[_spec(rule) for rule in job_rules],
        )
        before = state.failing_streak
        if outcome.streak != before:
            state.failing_streak = outcome.streak
            changed.add(state.pk)
        muted = state.muted_until is not None and state.muted_until > now
        run = runs.get(event.run_id)
        if outcome.fired and not muted and run is not None:
            made += _rows(event, outcome, rules=job_rules, run=run, now=now)
        if run is not None and circuit.circuit_trips(state, before=before):
            facts = run_facts(
                run, event="", attempt=event.attempt, streak=state.failing_streak
            )
            made += circuit.circuit_open(
                state=state, run=run, rules=job_rules, facts=facts, now=now
            )
    JobState.objects.bulk_update([states[pk] for pk in changed], ["failing_streak"])
    return Notification.objects.bulk_create(made)


def _states_locked(job_ids: set[int]) -> dict[int, JobState]:
    """Return the jobs' notification states, created if missing, locked."""
    JobState.objects.bulk_create(
        [JobState(job_id=pk) for pk in job_ids], ignore_conflicts=True
    )
    locked = JobState.objects.select_for_update().filter(job_id__in=job_ids)
    return {state.pk: state for state in locked}


def _rows(
    event: RunEvent,
    outcome: decisions.Outcome,
    *,
    rules: Sequence[Rule],
    run: JobRun,
    now: datetime,
) -> list[Notification]:
    """Return one unsaved notification per channel the fired rules name."""
    by_id = {rule.pk: rule for rule in rules}
    rows: list[Notification] = []
    seen: set[int] = set()
    for rule_id, fired in outcome.fired:
        channel = by_id[rule_id].channel
        if channel.pk in seen:
            continue
        seen.add(channel.pk)
        facts = run_facts(
            run, event=fired, attempt=event.attempt, streak=outcome.streak
        )
        rows.append(_notification(channel=channel, facts=facts, now=now, run=run))
    return rows


def rules_for_jobs(job_ids: Iterable[int]) -> Iterable[Rule]:
    """Return the active rules for jobs: their own and the global ones."""
    return (
        Rule.objects.filter(
            Q(job_id__in=list(job_ids)) | Q(job__isnull=True), is_active=True
        )
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


def _notification(
    *, channel: Channel, facts: Mapping[str, Any], now: datetime, run: JobRun | None
) -> Notification:
    """Return an unsaved outbox row; its text is rendered when it is sent."""
    return Notification(
        channel=channel,
        job=run.job if run else None,
        run=run,
        event=str(facts.get("event", "")),
        idempotency_key=uuid.uuid4().hex,
        facts=dict(facts),
        created_at=now,
        next_attempt_at=now,
    )


def notification_add(
    *, channel: Channel, facts: Mapping[str, Any], now: datetime, run: JobRun | None
) -> Notification:
    """Queue a message with `facts` for `channel` (rendered when sent)."""
    row = _notification(channel=channel, facts=facts, now=now, run=run)
    row.save()
    return row


def notification_render(notification: Notification) -> tuple[str, str]:
    """Return (subject, body): stored ones, or the channel's templates rendered."""
    if notification.subject or notification.body:
        return notification.subject, notification.body
    channel, facts = notification.channel, notification.facts
    subject = templating.render(
        channel.subject_template or templating.DEFAULT_SUBJECT, facts
    )
    body = templating.render(channel.body_template or templating.DEFAULT_BODY, facts)
    return subject, body
