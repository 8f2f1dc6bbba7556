"""OpenAPI schema hooks and extensions (drf-spectacular).

Loaded by the PREPROCESSING_HOOKS setting when a schema is generated, which
also registers the extensions below; other processes (the worker) never
import drf-spectacular's machinery.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension


def documented_paths(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[Any]:
    """Document API paths without their optional trailing slash (`/api/jobs`)."""
    return [
        (path.rstrip("/") if path.startswith("/api/") else path, *rest)
        for path, *rest in endpoints
    ]


class StrictSerializerExtension(OpenApiSerializerExtension):
    """Document that a strict serializer refuses unknown keys."""

    target_class = "jobs.api.serializers.StrictModelSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> Any:
        """Map as usual; request bodies allow no other properties."""
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
