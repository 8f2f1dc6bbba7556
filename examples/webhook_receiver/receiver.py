"""A small receiver of the portal's signed webhooks (a Flask app).

The portal signs each webhook (README, "Notifications"):
``X-JobPortal-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``
with ``X-JobPortal-Timestamp`` in Unix seconds and an ``Idempotency-Key``. This
receiver answers 401 to a missing or wrong signature or a stale timestamp
(replay), 200 to a repeat it already handled (without handling it twice), and
hands each new event to `handle`. It needs only Flask, not the portal.

Run it: ``WEBHOOK_SECRET=... flask --app examples.webhook_receiver.receiver run``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

TOLERANCE_SECONDS = 300


def signature_valid(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> bool:
    """Return whether `signature` signs `body` at `timestamp`, recent enough."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    signed = timestamp.encode("ascii") + b"." + body
    expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, f"sha256={expected}")


def create_app(
    secret: str,
    handle: Callable[[dict[str, Any]], None],
    *,
    clock: Callable[[], float] = time.time,
) -> Flask:
    """Return the receiver: POST /hook verifies, deduplicates, then handles."""
    app = Flask(__name__)
    seen: set[str] = set()

    @app.post("/hook")
    def hook() -> Response:
        body = request.get_data()
        if not signature_valid(
            secret,
            timestamp=request.headers.get("X-JobPortal-Timestamp", ""),
            body=body,
            signature=request.headers.get("X-JobPortal-Signature", ""),
            now=clock(),
        ):
            return Response("bad signature\n", status=401)
        key = request.headers.get("Idempotency-Key", "")
        if key not in seen:
            seen.add(key)
            handle(json.loads(body))
        return Response("ok\n", status=200)

    return app


def _print_event(event: dict[str, Any]) -> None:
    """Default handler when run as a program: one line per event."""
    print(event.get("event"), event.get("subject"), flush=True)  # noqa: T201


if __name__ == "__main__":  # pragma: no cover - a manual run
    create_app(os.environ["WEBHOOK_SECRET"], _print_event).run(port=8001)
