"""Rate limiting per client: an API key, else a user, else an IP address.

Two rates from settings (`DEFAULT_THROTTLE_RATES`): "user" for every
authenticated client and "anon" for the rest. An API key is its own client,
so one leaked or busy key cannot use up its owner's other keys or sessions.
Counters live in the "throttle" cache (the database), shared by every web
process.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import BaseCache, caches
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class ClientRateThrottle(SimpleRateThrottle):
    """Allow each client its configured number of requests per period."""

    scope = "user"

    @property
    def cache(self) -> BaseCache:  # type: ignore[override]
        """Return the shared throttle cache (read at call time, not import)."""
        return caches["throttle"]

    def allow_request(self, request: Request, view: Any) -> bool:
        """Pick the rate for this kind of client, then count the request."""
        self.scope = "user" if _is_authenticated(request) else "anon"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        """Return the counter's key: the API key, the user, or the address."""
        key_prefix = getattr(request.auth, "prefix", None)
        if key_prefix:
            ident = f"key:{key_prefix}"
        elif _is_authenticated(request):
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _is_authenticated(request: Request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)
