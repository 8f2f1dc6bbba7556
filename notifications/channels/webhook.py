"""A signed JSON webhook: POST the event with an HMAC-SHA256 signature.

Headers: ``X-JobPortal-Timestamp`` (Unix seconds), ``X-JobPortal-Signature:
sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`` and
``Idempotency-Key`` (also ``idempotency_key`` in the payload), so that a
receiver can check the sender and drop a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, ClassVar

from notifications.channels.base import Channel, Message, post_json

SIGNATURE_HEADER = "X-JobPortal-Signature"
TIMESTAMP_HEADER = "X-JobPortal-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return ``sha256=<hex>`` for `body` sent at `timestamp`."""
    signed = timestamp.encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def payload(message: Message) -> dict[str, Any]:
    """Return the JSON document a webhook receives."""
    return {
        "idempotency_key": message.idempotency_key,
        "event": message.event,
        "subject": message.subject,
        "text": message.body,
        **dict(message.facts),
    }


class WebhookChannel(Channel):
    """POST the event as JSON, signed with the channel's secret."""

    kind: ClassVar[str] = "webhook"
    label: ClassVar[str] = "Webhook"
    required: ClassVar[tuple[str, ...]] = ("url",)
    secret_keys: ClassVar[tuple[str, ...]] = ("url", "secret")

    def send(self, message: Message) -> int | None:
        """POST the payload, signed when the channel has a secret."""
        body = json.dumps(payload(message), sort_keys=True).encode("utf-8")
        timestamp = str(int(time.time()))
        headers: dict[str, str] = {
            IDEMPOTENCY_HEADER: message.idempotency_key,
            TIMESTAMP_HEADER: timestamp,
        }
        secret = self.secrets.get("secret")
        if secret:
            headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
        return post_json(
            self.setting("url"),
            body=body,
            headers=headers,
            timeout_seconds=self.timeout_seconds,
        )
