"""Send outbox rows: lease, send outside any transaction, record the attempt.

A sender leases due rows (`lease_until`, a conditional UPDATE, so that two
senders never hold one row), commits, then sends each with the channel's
bounded timeout and records a `DeliveryAttempt`. Outcomes:

* delivered: the row is done;
* a transient error: retried after an exponential backoff (5 s, 10 s, ...
  up to an hour), at most MAX_ATTEMPTS times;
* a permanent error (HTTP 4xx but 408/429, SMTP 5xx, bad configuration):
  the row fails and the channel shows the error as its `last_error`.

A sender killed after the lease and before the send leaves the row leased.
The lease names its holder (`lease_holder`: the worker's row and a token of
its process), so it does not have to run out: once the worker's heartbeat
is older than the lost-after limit, or the worker comes back under the same
name, a live sender releases the rows (`notifications_release_orphans`) and
sends each once. A sender killed after the send and before the record may
send it again; receivers drop the repeat by its idempotency key.

Rate limit: each channel's token bucket (`notifications.noise`) is taken
before a send. A row that finds it empty is `suppressed`; suppressed rows
roll into one digest message once the bucket has a token again.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q

from jobs.crypto import DecryptionError, EncryptionKeyError
from jobs.models import Worker
from notifications import decisions, noise
from notifications.channels.base import Channel as ChannelSender
from notifications.channels.base import ChannelError, Message
from notifications.models import (
    Channel,
    DeliveryAttempt,
    DeliveryTotal,
    Notification,
)
from notifications.services.channels import SEND_TIMEOUT_SECONDS, channel_sender
from notifications.services.outbox import notification_render

logger = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
# A lease token: "w<worker id>.<process token>:<batch token>" (32 at most).
PROCESS_TOKEN_CHARS = 8
MAX_ATTEMPTS = 8
DIGEST_EVENT = "digest"
DIGEST_SUBJECT = "{count} notifications held back by the rate limit"
DIGEST_LINES = 50


def lease_holder(*, worker_id: int, process_token: str) -> str:
    """Return the lease prefix of one worker process ("w12.ab12cd34")."""
    return f"w{worker_id}.{process_token[:PROCESS_TOKEN_CHARS]}"


def notifications_lease(
    *,
    now: datetime,
    limit: int,
    lease_seconds: float = LEASE_SECONDS,
    holder: str = "",
) -> list[Notification]:
    """Lease up to `limit` due rows to the caller; oldest first.

    `holder` (`lease_holder`) lets other workers release the rows should
    this one die.
    """
    free = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    due = Notification.objects.filter(
        free, status=Notification.Status.PENDING, next_attempt_at__lte=now
    )
    until = now + timedelta(seconds=lease_seconds)
    with transaction.atomic():
        candidates = due.order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("pk", flat=True)[:limit])
        if not ids:
            # No write when idle: on SQLite an UPDATE takes the write lock.
            return []
        token = f"{holder}:{uuid.uuid4().hex}"[:32]
        # The conditions again: another sender may have leased some meanwhile.
        due.filter(pk__in=ids).update(lease_until=until, lease_token=token)
    mine = Notification.objects.filter(pk__in=ids, lease_token=token)
    return list(mine.select_related("channel").order_by("pk"))


def notifications_release_orphans(
    *, now: datetime, holder: str, lost_after_seconds: float
) -> int:
    """Release rows leased by dead worker processes; return how many.

    Dead: its worker's heartbeat is older than `lost_after_seconds` (the
    limit after which its runs count as lost), or it is an earlier process
    of this very worker (`holder` has the same worker id, another process
    token). Released rows are sent by the next lease, with the same
    idempotency key.
    """
    cutoff = now - timedelta(seconds=lost_after_seconds)
    worker_prefix = holder.split(".", 1)[0] + "."
    orphaned = Q(lease_token__startswith=worker_prefix) & ~Q(
        lease_token__startswith=holder + ":"
    )
    for worker_id in Worker.objects.filter(last_heartbeat_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        orphaned |= Q(lease_token__startswith=f"w{worker_id}.")
    rows = Notification.objects.filter(
        orphaned, status=Notification.Status.PENDING, lease_until__gt=now
    )
    # Look before writing: on SQLite an UPDATE takes the write lock even
    # when it changes nothing.
    if not rows.exists():
        return 0
    released = rows.update(lease_until=None, lease_token="")
    if released:
        logger.warning(
            "Released %s notification(s) leased by a worker that died", released
        )
    return released


def worker_is_fresh(*, holder: str, now: datetime, within_seconds: float) -> bool:
    """Return whether the lease holder's worker heart-beat within `within_seconds`.

    A holder whose worker row is gone counts as fresh (nothing will release
    its leases but their time limit).
    """
    worker_id = holder.split(".", 1)[0].removeprefix("w")
    beat = (
        Worker.objects.filter(pk=int(worker_id))
        .values_list("last_heartbeat_at", flat=True)
        .first()
        if worker_id.isdigit()
        else None
    )
    return beat is None or beat >= now - timedelta(seconds=within_seconds)


def notification_deliver(
    notification: Notification,
    *,
    clock: Callable[[], datetime],
    timeout_seconds: float = SEND_TIMEOUT_SECONDS,
) -> DeliveryAttempt | None:
    """Send one leased row, record the attempt.

    None: held back by the rate limit, or not sent (its lease ends before the
    timeout would) and released.
    """
    attempts = notifications_deliver(
        [notification], clock=clock, timeout_seconds=timeout_seconds
    )
    return attempts[0] if attempts else None


def notifications_deliver(
    notifications: Sequence[Notification],
    *,
    clock: Callable[[], datetime],
    timeout_seconds: float = SEND_TIMEOUT_SECONDS,
    stop: threading.Event | None = None,
    before_send: Callable[[], None] | None = None,
    before_record: Callable[[], None] | None = None,
) -> list[DeliveryAttempt | None]:
    """Send leased rows one by one, then record every attempt at once.

    Sends happen outside any transaction; the records share one, so that
    a batch takes the database's write lock once (on SQLite, a writer
    holding it back to back would starve the scheduler); `before_record`
    runs just before it and `before_send` before each send (the sender
    waits there while a slot is due). A row held back
    by the rate limit gives None. A send starts only if its timeout ends
    within the row's lease (else another worker could lease and send it
    meanwhile); the rows left then, or when `stop` is set, are released
    for the next lease.
    """
    senders: dict[int, ChannelSender] = {}
    sent: list[_Sent | None] = []
    for notification in notifications:
        if before_send is not None:
            before_send()
        if stop is not None and stop.is_set():
            break
        lease_until = notification.lease_until
        if lease_until is not None and lease_until < clock() + timedelta(
            seconds=timeout_seconds
        ):
            break
        sent.append(
            _send(
                notification,
                clock=clock,
                senders=senders,
                timeout_seconds=timeout_seconds,
            )
        )
    left = notifications[len(sent) :]
    if before_record is not None:
        before_record()
    with transaction.atomic():
        attempts = [_record(item) if item is not None else None for item in sent]
        _totals_add(
            Counter(
                (item.notification.channel.kind, attempt.outcome)
                for item, attempt in zip(sent, attempts, strict=True)
                if item is not None and attempt is not None
            )
        )
        if left:
            Notification.objects.filter(
                pk__in=[row.pk for row in left],
                lease_token__in={row.lease_token for row in left},
            ).update(lease_until=None, lease_token="")
        return attempts


def _totals_add(counts: Counter[tuple[str, str]]) -> None:
    """Add attempts to the all-time totals (in the caller's transaction)."""
    if not counts:
        return
    DeliveryTotal.objects.bulk_create(
        [DeliveryTotal(kind=kind, outcome=outcome) for kind, outcome in counts],
        ignore_conflicts=True,
    )
    for (kind, outcome), count in counts.items():
        DeliveryTotal.objects.filter(kind=kind, outcome=outcome).update(
            attempts=F("attempts") + count
        )


@dataclass(frozen=True)
class _Sent:
    notification: Notification
    message: Message
    code: int | None
    error: ChannelError | None
    ms: int
    at: datetime


def _send(
    notification: Notification,
    *,
    clock: Callable[[], datetime],
    senders: dict[int, ChannelSender],
    timeout_seconds: float,
) -> _Sent | None:
    """Send one row (bounded by the timeout); None: held by the rate limit."""
    channel = notification.channel
    if not _take_token(channel, now=clock()):
        Notification.objects.filter(pk=notification.pk).update(
            status=Notification.Status.SUPPRESSED, lease_until=None
        )
        return None
    started = time.monotonic()
    code: int | None = None
    error: ChannelError | None = None
    message = _message(notification)
    try:
        if channel.pk not in senders:
            senders[channel.pk] = channel_sender(
                channel, timeout_seconds=timeout_seconds
            )
        code = senders[channel.pk].send(message)
    except ChannelError as exc:
        error = exc
    except (DecryptionError, EncryptionKeyError) as exc:
        error = ChannelError(str(exc), permanent=True)
    ms = int((time.monotonic() - started) * 1000)
    return _Sent(notification, message, code=code, error=error, ms=ms, at=clock())


def _message(notification: Notification) -> Message:
    subject, body = notification_render(notification)
    return Message(
        subject=subject,
        body=body,
        idempotency_key=notification.idempotency_key,
        event=notification.event,
        facts=notification.facts,
    )


def _record(sent: _Sent) -> DeliveryAttempt:
    """Write the attempt and the row's new state (in the caller's transaction)."""
    notification, error, now = sent.notification, sent.error, sent.at
    attempts = notification.attempts + 1
    status = Notification.Status.PENDING
    if error is None:
        outcome, status = (
            DeliveryAttempt.Outcome.DELIVERED,
            Notification.Status.DELIVERED,
        )
    elif error.permanent or attempts >= MAX_ATTEMPTS:
        outcome, status = DeliveryAttempt.Outcome.PERMANENT, Notification.Status.FAILED
    else:
        outcome = DeliveryAttempt.Outcome.TRANSIENT
    code = error.response_code if error is not None else sent.code
    subject, body = sent.message.subject, sent.message.body
    text = str(error) if error is not None else ""
    attempt = DeliveryAttempt.objects.create(
        notification=notification,
        at=now,
        outcome=outcome,
        response_code=code,
        error=text,
        duration_ms=sent.ms,
    )
    Notification.objects.filter(pk=notification.pk).update(
        status=status,
        attempts=attempts,
        lease_until=None,
        last_error=text,
        delivered_at=now if error is None else None,
        next_attempt_at=now + timedelta(seconds=noise.backoff_seconds(attempts)),
        subject=subject,
        body=body,
    )
    if outcome == DeliveryAttempt.Outcome.PERMANENT:
        Channel.objects.filter(pk=notification.channel_id).update(
            last_error=text, last_error_at=now
        )
    if error is not None:
        logger.warning(
            "Notification %s to channel %s failed (%s): %s",
            notification.pk,
            notification.channel_id,
            outcome,
            text,
        )
    return attempt


def _take_token(channel: Channel, *, now: datetime) -> bool:
    """Take a token from the channel's bucket (a no-op without a limit)."""
    if not channel.rate_per_hour:
        return True
    with transaction.atomic():
        fresh = Channel.objects.select_for_update().get(pk=channel.pk)
        taken, bucket = noise.bucket_take(
            noise.Bucket(tokens=fresh.bucket_tokens, at=fresh.bucket_at),
            now=now,
            per_hour=fresh.rate_per_hour,
            burst=fresh.rate_burst,
        )
        Channel.objects.filter(pk=channel.pk).update(
            bucket_tokens=bucket.tokens, bucket_at=bucket.at
        )
    return taken


def digests_queue(*, now: datetime) -> int:
    """Roll each channel's suppressed rows into one digest; return how many.

    A digest is queued only when the channel's bucket would give a token,
    so it is sent (not suppressed in turn).
    """
    made = 0
    channel_ids = (
        Notification.objects.filter(status=Notification.Status.SUPPRESSED)
        .values_list("channel_id", flat=True)
        .distinct()
    )
    for channel in Channel.objects.filter(pk__in=list(channel_ids)):
        if _bucket_has_token(channel, now=now):
            made += _digest(channel, now=now)
    return made


def _bucket_has_token(channel: Channel, *, now: datetime) -> bool:
    bucket = noise.Bucket(tokens=channel.bucket_tokens, at=channel.bucket_at)
    taken, _ = noise.bucket_take(
        bucket, now=now, per_hour=channel.rate_per_hour, burst=channel.rate_burst
    )
    return taken


@transaction.atomic
def _digest(channel: Channel, *, now: datetime) -> int:
    held = list(
        Notification.objects.select_for_update()
        .select_related("channel")
        .filter(channel=channel, status=Notification.Status.SUPPRESSED)
        .order_by("pk")
    )
    if not held:
        return 0
    lines = [f"- {notification_render(row)[0]}" for row in held[:DIGEST_LINES]]
    if len(held) > DIGEST_LINES:
        lines.append(f"... and {len(held) - DIGEST_LINES} more")
    Notification.objects.create(
        channel=channel,
        event=DIGEST_EVENT,
        idempotency_key=uuid.uuid4().hex,
        subject=DIGEST_SUBJECT.format(count=len(held)),
        body="\n".join(lines),
        facts={"event": DIGEST_EVENT, "count": len(held), "ids": [r.pk for r in held]},
        created_at=now,
        next_attempt_at=now,
    )
    Notification.objects.filter(pk__in=[row.pk for row in held]).update(
        status=Notification.Status.DIGESTED
    )
    return 1


def notification_test_queue(*, channel: Channel, now: datetime) -> Notification:
    """Queue a test message on `channel` (the "send test notification")."""
    facts = {
        "event": decisions.TEST,
        "event_label": decisions.LABELS[decisions.TEST],
        "job": "(test)",
        "status": "succeeded",
    }
    return Notification.objects.create(
        channel=channel,
        event=decisions.TEST,
        idempotency_key=uuid.uuid4().hex,
        subject=f"Test notification from the Job Portal ({channel.name})",
        body="If you can read this, the channel works.",
        facts=facts,
        created_at=now,
        next_attempt_at=now,
    )
