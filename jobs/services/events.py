"""Read run events exactly once per consumer, and forget them in time.

Every run that ends (and every retry scheduled) leaves a `RunEvent`,
written with the change by `jobs.services.outcomes`. A consumer (say
"notifications") is a registered name. It claims a batch of events it has
not acked, handles them and acks them:

* a claim leases its events for `lease_seconds`; events claimed but not
  acked (the consumer crashed) are claimed again once the lease is over;
* an acked event never comes back to that consumer;
* several processes of one consumer may claim at once: each gets other
  events (a conditional UPDATE takes an expired lease, the unique
  (consumer, event) key settles a first claim, each claim marks its rows
  with its own token);
* consumers are independent: each has its own receipts.

`run_events_ack` joins the caller's transaction and returns how many events
it acked, so that a consumer can write its own rows (an outbox, say) and
ack in one transaction, and keep them only if the ack won:

    with transaction.atomic():
        if run_events_ack(consumer="notifications", event_ids=[e.pk], now=now):
            outbox_add(...)

Retention (`run_events_prune`, run by the worker about once a minute): an
event acked by every registered consumer is deleted, and any event is
deleted `JOB_PORTAL_RUN_EVENT_RETENTION_DAYS` after it was written.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q

from jobs import conf
from jobs.models import RunEvent, RunEventConsumer, RunEventReceipt

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 300.0
# Events deleted per statement by retention: bounds each step's work.
PRUNE_BATCH = 1000
# Batches per step at most; a longer backlog continues next step.
PRUNE_MAX_BATCHES = 10


def run_event_consumer_register(*, name: str, now: datetime) -> RunEventConsumer:
    """Register consumer `name` (once): retention waits for it from now on.

    Claiming registers a consumer too; register it up front (when its
    feature is set up) so that no event is deleted before its first claim.
    """
    consumer, _ = RunEventConsumer.objects.get_or_create(
        name=name, defaults={"registered_at": now}
    )
    return consumer


def run_events_claim(
    *,
    consumer: str,
    limit: int,
    now: datetime,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> list[RunEvent]:
    """Claim up to `limit` events `consumer` has not acked; oldest first.

    Events whose earlier claim expired unacked come first, then events
    never claimed. The claim holds them until `now + lease_seconds`.
    """
    until = now + timedelta(seconds=lease_seconds)
    token = uuid.uuid4().hex
    try:
        with transaction.atomic():
            reader = run_event_consumer_register(name=consumer, now=now)
            taken = _retake_expired(
                reader, token=token, until=until, now=now, limit=limit
            )
            if taken < limit:
                _take_new(reader, token=token, until=until, limit=limit - taken)
            return list(
                RunEvent.objects.filter(
                    receipts__consumer=reader, receipts__token=token
                ).order_by("pk")
            )
    except IntegrityError:
        # Another process's retention deleted an event between this claim's
        # read and its commit (the receipt's foreign key, checked at commit):
        # the claim rolled back whole; the next one reads afresh.
        logger.info("Run events of %s deleted while claimed; claim again", consumer)
        return []


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


def run_events_prune(*, now: datetime, retention_days: int | None = None) -> int:
    """Delete events every consumer acked, and events past retention.

    Works in batches of PRUNE_BATCH, at most PRUNE_MAX_BATCHES; return how
    many events were deleted. With no consumer registered, events wait for
    the retention period.
    """
    days = retention_days or conf.run_event_retention_days()
    cutoff = now - timedelta(days=days)
    readers = RunEventConsumer.objects.count()
    deleted = 0
    for _ in range(PRUNE_MAX_BATCHES):
        ids = _prunable(cutoff=cutoff, readers=readers)
        if not ids:
            break
        try:
            with transaction.atomic():
                RunEventReceipt.objects.filter(event_id__in=ids).delete()
                batch = RunEvent.objects.filter(pk__in=ids).delete()[0]
        except IntegrityError:
            # A claim committed a receipt for one of them meanwhile (the
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


def _retake_expired(
    reader: RunEventConsumer, *, token: str, until: datetime, now: datetime, limit: int
) -> int:
    """Take over expired, unacked claims of `reader`; return how many."""
    open_claims = RunEventReceipt.objects.filter(
        consumer=reader, acked_at__isnull=True, claimed_until__lte=now
    )
    candidates = open_claims.order_by("event_id")
    if connection.features.has_select_for_update_skip_locked:
        # Another process of the consumer retaking the same leases skips
        # them rather than waiting.
        candidates = candidates.select_for_update(skip_locked=True)
    ids = list(candidates.values_list("pk", flat=True)[:limit])
    if not ids:
        return 0
    # The conditions again: the lease may have been retaken meanwhile.
    return open_claims.filter(pk__in=ids).update(token=token, claimed_until=until)


def _take_new(
    reader: RunEventConsumer, *, token: str, until: datetime, limit: int
) -> None:
    """Claim events `reader` never claimed; a racing claimer's rows win."""
    fresh = (
        RunEvent.objects.exclude(receipts__consumer=reader)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    RunEventReceipt.objects.bulk_create(
        [
            RunEventReceipt(
                event_id=pk, consumer=reader, token=token, claimed_until=until
            )
            for pk in fresh
        ],
        # The unique (consumer, event) key: another claimer got there first.
        ignore_conflicts=True,
    )


def _prunable(*, cutoff: datetime, readers: int) -> list[int]:
    """Return up to PRUNE_BATCH ids of events retention may delete."""
    old = RunEvent.objects.filter(at__lt=cutoff).order_by("pk")
    ids = list(old.values_list("pk", flat=True)[:PRUNE_BATCH])
    if readers and len(ids) < PRUNE_BATCH:
        done = (
            RunEvent.objects.annotate(
                acks=Count("receipts", filter=Q(receipts__acked_at__isnull=False))
            )
            .filter(acks__gte=readers)
            .order_by("pk")
        )
        ids += list(done.values_list("pk", flat=True)[: PRUNE_BATCH - len(ids)])
    return ids
