"""Read run events exactly once per consumer, and forget them in time.

Every run that ends (and every retry scheduled) leaves a `RunEvent`,
written with the change by `jobs.services.outcomes`, together with one
unclaimed receipt per registered consumer (`run_events_announce`). A
consumer (say "notifications") is a registered name. It claims a batch of
its receipts not yet acked, handles their events and acks them:

* a claim leases its events for `lease_seconds`; events claimed but not
  acked (the consumer crashed) are claimed again once the lease is over;
* an acked event never comes back to that consumer;
* several processes of one consumer may claim at once: each gets other
  events (a conditional UPDATE takes an unleased receipt, and on PostgreSQL
  the read skips receipts another claim has locked; each claim marks its
  rows with its own token);
* consumers are independent: each has its own receipts.

Writing the receipts with the event (fan-out on write) keeps a claim's cost
at the consumer's unread events, whatever the number of events kept: a
claim is one index range of its own open receipts, not an anti-join over
all events (which, at 45 events a second, cost a worker's every cycle up to
24 ms on PostgreSQL). A consumer registered later is given receipts for the
events kept at that moment (`run_event_consumer_register`).

`run_events_ack` joins the caller's transaction and returns how many events
it acked, so that a consumer can write its own rows (an outbox, say) and
ack in one transaction, and keep them only if the ack won:

    with transaction.atomic():
        if run_events_ack(consumer="notifications", event_ids=[e.pk], now=now):
            outbox_add(...)

Retention (`run_events_prune`, run by the worker every few seconds in small
batches, never while a slot is about to fire): an event acked by every
registered consumer is deleted, and any event is deleted
`JOB_PORTAL_RUN_EVENT_RETENTION_DAYS` after it was written.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q

from jobs import conf
from jobs.models import RunEvent, RunEventConsumer, RunEventReceipt

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 300.0
# Events deleted per transaction by retention: bounds each step's work
# (about 50 ms on PostgreSQL with three consumers' receipts).
PRUNE_BATCH = 250
# Batches per call at most; a longer backlog continues next call.
PRUNE_MAX_BATCHES = 40


def run_event_consumer_register(*, name: str, now: datetime) -> RunEventConsumer:
    """Register consumer `name` (once): retention waits for it from now on.

    A new consumer gets a receipt for every event kept, so its first claim
    reads them. Claiming registers a consumer too; register it up front
    (when its feature is set up, a migration say) so that no event is
    deleted before its first claim.
    """
    consumer = RunEventConsumer.objects.filter(name=name).first()
    if consumer is not None:
        return consumer
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Wait for the transactions writing events now, and hold new
            # ones back until this commits: each event is then either seen
            # by the copy below or written after, with this consumer's
            # receipt (SQLite has one writer, which orders them alike).
            with connection.cursor() as cursor:
                cursor.execute(
                    f"LOCK TABLE {_table(RunEvent)} IN SHARE ROW EXCLUSIVE MODE"
                )
        consumer, created = RunEventConsumer.objects.get_or_create(
            name=name, defaults={"registered_at": now}
        )
        if created:
            _receipts_insert(where="c.id = %s", params=[consumer.pk])
    return consumer


def run_events_announce(*, event_ids: Sequence[int]) -> None:
    """Give each registered consumer an unclaimed receipt of these events.

    Called in the transaction that inserted the events, in one statement.
    """
    if event_ids:
        marks = ", ".join(["%s"] * len(event_ids))
        _receipts_insert(where=f"e.id IN ({marks})", params=event_ids)


def run_events_claim(
    *,
    consumer: str,
    limit: int,
    now: datetime,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> list[RunEvent]:
    """Claim up to `limit` events `consumer` has not acked; oldest first.

    Events never claimed and events whose earlier claim expired unacked are
    taken alike. The claim holds them until `now + lease_seconds`.
    """
    if not run_events_waiting(consumer=consumer, now=now):
        return []
    until = now + timedelta(seconds=lease_seconds)
    token = uuid.uuid4().hex
    try:
        with transaction.atomic():
            reader = run_event_consumer_register(name=consumer, now=now)
            takeable = RunEventReceipt.objects.filter(
                consumer=reader, acked_at__isnull=True
            ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            candidates = takeable.order_by("event_id")
            if connection.features.has_select_for_update_skip_locked:
                # Another process of the consumer claiming at the same time
                # skips the receipts this one read, rather than waiting.
                candidates = candidates.select_for_update(skip_locked=True)
            ids = list(candidates.values_list("pk", flat=True)[:limit])
            if not ids:
                return []
            # The conditions again: a racing claimer may have taken some.
            takeable.filter(pk__in=ids).update(token=token, claimed_until=until)
            return list(
                RunEvent.objects.filter(
                    receipts__consumer=reader, receipts__token=token
                ).order_by("pk")
            )
    except IntegrityError:
        # A new consumer's receipts name an event another process's
        # retention deleted meanwhile (the foreign key, checked at commit):
        # the claim rolled back whole; the next one reads afresh.
        logger.info("Run events of %s deleted while claimed; claim again", consumer)
        return []


def run_events_waiting(*, consumer: str, now: datetime) -> bool:
    """Return whether `consumer` may have receipts to take now.

    True for an unregistered consumer (its claim registers it). Every
    worker's consumers ask on every cycle, mostly for nothing: one plain
    statement (the open receipts' partial index) instead of a claim's
    transaction, registration read and locking read.
    """
    sql = (
        f"SELECT EXISTS (SELECT 1 FROM {_table(RunEventReceipt)} r "  # noqa: S608
        "WHERE r.consumer_id = c.id AND r.acked_at IS NULL "
        "AND (r.claimed_until IS NULL OR r.claimed_until <= %s)) "
        f"FROM {_table(RunEventConsumer)} c WHERE c.name = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(now), consumer])
        row = cursor.fetchone()
    return row is None or bool(row[0])


def run_events_ack(*, consumer: str, event_ids: Iterable[int], now: datetime) -> int:
    """Mark events read by `consumer`; return how many this call acked.

    An event acked before (by another process of the consumer whose lease
    had passed, say) is not counted again: a consumer that acks inside its
    own transaction keeps its writes only when this returns the number of
    events it meant to ack.
    """
    return RunEventReceipt.objects.filter(
        consumer__name=consumer, event_id__in=list(event_ids), acked_at__isnull=True
    ).update(acked_at=now)


def run_events_prune(
    *,
    now: datetime,
    retention_days: int | None = None,
    max_batches: int | None = None,
) -> int:
    """Delete events every consumer acked, and events past retention.

    Works in batches of PRUNE_BATCH, at most `max_batches` (default
    PRUNE_MAX_BATCHES); return how
    many events were deleted. With no consumer registered, events wait for
    the retention period.
    """
    days = retention_days or conf.run_event_retention_days()
    cutoff = now - timedelta(days=days)
    has_readers = RunEventConsumer.objects.exists()
    deleted = 0
    for _ in range(max_batches or PRUNE_MAX_BATCHES):
        ids = _prunable(cutoff=cutoff, has_readers=has_readers)
        if not ids:
            break
        try:
            with transaction.atomic():
                RunEventReceipt.objects.filter(event_id__in=ids).delete()
                batch = RunEvent.objects.filter(pk__in=ids).delete()[0]
        except IntegrityError:
            # A new consumer's receipts named one of them meanwhile (the
            # foreign key, checked at commit): this batch waits for the
            # next prune.
            logger.info("Run events claimed while pruned; pruning them later")
            break
        deleted += batch
        if len(ids) < PRUNE_BATCH:
            break
    if deleted:
        logger.info("Deleted %s run events (read or past retention)", deleted)
    return deleted


def _receipts_insert(*, where: str, params: Sequence[int]) -> None:
    """Insert unclaimed receipts for the (event e, consumer c) pairs `where` picks.

    One statement: the events just written with every consumer, or every
    kept event with a consumer just registered.
    """
    receipt, event, reader = (
        _table(RunEventReceipt),
        _table(RunEvent),
        _table(RunEventConsumer),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {receipt} (event_id, consumer_id, token, claimed_until,"  # noqa: S608 - names only
            f" acked_at) SELECT e.id, c.id, '', NULL, NULL"
            f" FROM {event} e CROSS JOIN {reader} c WHERE {where}",
            list(params),
        )


def _table(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)  # type: ignore[attr-defined]


def _prunable(*, cutoff: datetime, has_readers: bool) -> list[int]:
    """Return up to PRUNE_BATCH ids of events retention may delete."""
    old = RunEvent.objects.filter(at__lt=cutoff).order_by("pk")
    ids = list(old.values_list("pk", flat=True)[:PRUNE_BATCH])
    if has_readers and len(ids) < PRUNE_BATCH:
        unread = RunEventReceipt.objects.filter(
            event=OuterRef("pk"), acked_at__isnull=True
        )
        done = RunEvent.objects.filter(~Exists(unread)).order_by("pk")
        ids += list(done.values_list("pk", flat=True)[: PRUNE_BATCH - len(ids)])
    return ids
