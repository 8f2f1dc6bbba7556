"""The per-request memo: once per GET or HEAD, every time otherwise."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from jobportal.request_memo import RequestMemoMiddleware, memoized


def counting() -> tuple[list[int], Callable[[], int]]:
    """Return a call log and a function that logs each call."""
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    return calls, compute


def serve(method: str, compute: Callable[[], int]) -> list[int]:
    """Serve one request whose view asks for the memoized value 3 times."""
    seen: list[int] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.extend(memoized("key", compute) for _ in range(3))
        return HttpResponse()

    request = RequestFactory().generic(method, "/admin/")
    RequestMemoMiddleware(view)(request)
    return seen


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_read_only_request_computes_once(method: str) -> None:
    """Three asks, one computation; the next request computes afresh."""
    calls, compute = counting()
    assert serve(method, compute) == [1, 1, 1]
    assert serve(method, compute) == [2, 2, 2]
    assert len(calls) == 2


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_request_that_writes_computes_every_time(method: str) -> None:
    """A write may change the answer halfway: nothing is remembered."""
    _, compute = counting()
    assert serve(method, compute) == [1, 2, 3]


def test_outside_a_request_nothing_is_remembered() -> None:
    """Commands, the worker and direct calls compute every time."""
    _, compute = counting()
    assert [memoized("key", compute) for _ in range(2)] == [1, 2]
