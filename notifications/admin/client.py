"""What the notifications admin reads from a request for the audit log."""

from __future__ import annotations

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """Return the client's address (REMOTE_ADDR) for the audit log."""
    return request.META.get("REMOTE_ADDR")
