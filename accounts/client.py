"""Facts about the client of an HTTP request, for the audit log."""

from __future__ import annotations

from django.http import HttpRequest


def request_ip(request: HttpRequest | None) -> str | None:
    """Return the client's IP address as the server saw it, or None.

    Only REMOTE_ADDR is trusted: X-Forwarded-For is set by the client and
    could name anyone. Behind a reverse proxy, have the proxy (or a
    middleware that knows it) set REMOTE_ADDR.
    """
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None
