"""Rate limiting per client: an API key, else a user, else an IP address.

Two rates from settings (`DEFAULT_THROTTLE_RATES`): "user" for every
authenticated client and "anon" for the rest. An API key is its own client,
so one leaked or busy key cannot use up its owner's other keys or sessions.
Counters live in the "throttle" cache (the database), shared by every web
process. Rates are read from the settings at each request, not at import.

An anonymous client is its address as the server saw it (REMOTE_ADDR, see
`accounts.client.request_ip`): DRF's default would trust X-Forwarded-For,
which any client can set to a new value per request and so escape the
limit, on the token endpoint too.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import BaseCache, caches
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.client import request_ip
from accounts.models import APIKey


class ClientRateThrottle(SimpleRateThrottle):
    """Allow each client its configured number of requests per period."""

    scope = "user"

    @property
    def cache(self) -> BaseCache:  # type: ignore[override]
        """Return the shared throttle cache (read at call time, not import)."""
        return caches["throttle"]

    def get_rate(self) -> str | None:
        """Return this scope's rate from the settings as they are now."""
        # The stubs type rates as numbers; DRF's are text like "100/minute".
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]  # type: ignore[return-value]

    def get_ident(self, request: Request) -> str:
        """Return the client's address as the server saw it (never a header)."""
        return request_ip(request) or ""

    def allow_request(self, request: Request, view: Any) -> bool:
        """Pick the rate for this kind of client, then count the request."""
        self.scope = "user" if _is_authenticated(request) else "anon"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        """Return the counter's key: the API key, the user, or the address."""
        if isinstance(request.auth, APIKey):
            ident = f"key:{request.auth.prefix}"
        elif _is_authenticated(request):
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _is_authenticated(request: Request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)
