"""OpenAPI schema hooks (drf-spectacular)."""

from __future__ import annotations

from typing import Any


def documented_paths(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[Any]:
    """Document API paths without their optional trailing slash (`/api/jobs`)."""
    return [
        (path.rstrip("/") if path.startswith("/api/") else path, *rest)
        for path, *rest in endpoints
    ]
