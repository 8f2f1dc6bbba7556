"""The channel base: a message, the error a send raises, HTTP posting.

A channel sends one message per call and raises `ChannelError` when it
cannot: `permanent=True` stops retries (HTTP 4xx other than 408 and 429, an
SMTP 5xx, a bad configuration), anything else is retried by the outbox with
exponential backoff. Every send is bounded by the channel's timeout.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

DEFAULT_TIMEOUT_SECONDS = 10.0
# Kept of an error answer's body, for the delivery record.
ERROR_BODY_CHARS = 300
# 4xx answers that are worth retrying.
TRANSIENT_4XX = frozenset({408, 429})
USER_AGENT = "JobPortal-Notifications/1"


class ChannelError(Exception):
    """A send failed; `permanent` says retrying will not help."""

    def __init__(
        self, message: str, *, permanent: bool = False, response_code: int | None = None
    ) -> None:
        """Keep the message, whether it is permanent and the response code."""
        super().__init__(message)
        self.permanent = permanent
        self.response_code = response_code


@dataclass(frozen=True)
class Message:
    """What to send: rendered text, the facts behind it and its key."""

    subject: str
    body: str
    idempotency_key: str
    event: str
    facts: Mapping[str, Any] = field(default_factory=dict)


class Channel:
    """Send messages of one kind; subclasses set `kind` and `send`."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    # Keys of `config` that must be present, and the secret ones (encrypted).
    required: ClassVar[tuple[str, ...]] = ()
    secret_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        config: Mapping[str, Any],
        secrets: Mapping[str, str],
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        """Keep the channel's settings, its decrypted secrets and timeout."""
        self.config = config
        self.secrets = secrets
        self.timeout_seconds = timeout_seconds

    def send(self, message: Message) -> int | None:
        """Send `message`; return the response code if there is one."""
        raise NotImplementedError

    def setting(self, key: str) -> Any:
        """Return config or secret `key`; a missing one is a permanent error."""
        value = self.secrets.get(key) or self.config.get(key)
        if not value:
            raise ChannelError(f"The channel has no {key!r}.", permanent=True)
        return value


def post_json(
    url: str,
    payload: Mapping[str, Any] | None = None,
    *,
    timeout_seconds: float,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> int:
    """POST JSON to `url`; return the status code or raise `ChannelError`."""
    data = body if body is not None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **(headers or {}),
        },
    )
    if not url.lower().startswith(("http://", "https://")):
        raise ChannelError(f"Not an http(s) URL: {url[:40]!r}.", permanent=True)
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        raise _http_error(exc) from None
    except TimeoutError:
        raise ChannelError(f"No answer within {timeout_seconds:g} s.") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ChannelError(f"Could not connect: {reason}.") from None


def _http_error(exc: urllib.error.HTTPError) -> ChannelError:
    """Return the `ChannelError` for an HTTP error answer."""
    try:
        text = exc.read(ERROR_BODY_CHARS).decode("utf-8", "replace")
    except OSError:
        text = ""
    permanent = 400 <= exc.code < 500 and exc.code not in TRANSIENT_4XX
    detail = f": {text.strip()}" if text.strip() else ""
    return ChannelError(
        f"HTTP {exc.code} {exc.reason}{detail}",
        permanent=permanent,
        response_code=exc.code,
    )
