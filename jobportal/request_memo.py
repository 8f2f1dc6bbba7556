"""Remember values computed while serving one read-only request.

The admin asks "may this user see some job?" and "which jobs may they
see?" many times per page (each model's menu entry, each permission hook,
the dashboard); the answer cannot change while a GET is being served, so
it is computed once. `RequestMemoMiddleware` opens the memo for GET and
HEAD requests only: a request that writes (a new job makes its creator its
owner, a grant changes rights) may change the answers halfway, so it
computes every time, as does code outside a request (commands, the worker,
tests calling functions directly).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from asgiref.local import Local
from django.http import HttpRequest, HttpResponse

T = TypeVar("T")
READ_ONLY_METHODS = ("GET", "HEAD")
_local = Local()


def memoized(key: Hashable, compute: Callable[[], T]) -> T:
    """Return `compute()`, computed once per read-only request for `key`."""
    store: dict[Hashable, object] | None = getattr(_local, "store", None)
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    return store[key]  # type: ignore[return-value]


class RequestMemoMiddleware:
    """Open the memo for a GET or HEAD request; drop it when it is answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Serve `request` with a fresh memo if it only reads."""
        if request.method not in READ_ONLY_METHODS:
            return self.get_response(request)
        _local.store = {}
        try:
            return self.get_response(request)
        finally:
            _local.store = None
