"""OpenAPI schema hooks and extensions (drf-spectacular).

Loaded by the PREPROCESSING_HOOKS setting when a schema is generated, which
also registers the extensions below; other processes (the worker) never
import drf-spectacular's machinery.
"""

from __future__ import annotations

import copy
from typing import Any

from drf_spectacular.extensions import (
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from rest_framework import serializers

from jobportal.api.serializers import TEXT_PATTERN

MSG_IGNORED = (
    "Read-only: accepted in a request and ignored, so that what GET answers "
    "can be sent back."
)


def documented_paths(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[Any]:
    """Document API paths without their optional trailing slash (`/api/jobs`)."""
    return [
        (path.rstrip("/") if path.startswith("/api/") else path, *rest)
        for path, *rest in endpoints
    ]


class StrictSerializerExtension(OpenApiSerializerExtension):
    """Document exactly the keys and text a strict serializer accepts.

    `StrictFieldsMixin` refuses unknown keys, so a request body allows no
    other properties; it accepts the read-only keys and ignores them
    whatever their value, so they are documented as any value. Text fields
    refuse NUL characters.
    """

    target_class = "jobportal.api.serializers.StrictFieldsMixin"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> Any:
        """Map as usual; a request body lists its keys, and no other."""
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            properties = schema.setdefault("properties", {})
            for name, field in self.target.fields.items():
                if field.read_only:
                    # Not "readOnly", which would drop it from the request.
                    properties[name] = {"description": MSG_IGNORED}
                    if name in schema.get("required", ()):
                        schema["required"].remove(name)
                elif name in properties:
                    _refuse_nul(field, properties[name])
            schema["additionalProperties"] = False
        return schema


class ShapedJSONFieldExtension(OpenApiSerializerFieldExtension):
    """Document a `ShapedJSONField` with the shape its validators check."""

    target_class = "jobportal.api.serializers.ShapedJSONField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> Any:
        """Return the field's own schema (DRF's JSONField would allow any value).

        Text in a request refuses NUL characters (`storable_json`).
        """
        schema = copy.deepcopy(self.target.schema)
        if direction == "request":
            _text_without_nul(schema)
        return schema


def _refuse_nul(field: serializers.Field, schema: dict[str, Any]) -> None:
    """Give a free-text field's schema (or its items') the NUL-free pattern."""
    if isinstance(field, serializers.ManyRelatedField):
        field, schema = field.child_relation, schema.get("items", {})
    is_text = isinstance(field, serializers.CharField | serializers.SlugRelatedField)
    if is_text and not schema.keys() & {"format", "enum"}:
        _text_without_nul(schema)


def _text_without_nul(schema: dict[str, Any]) -> None:
    """Give every string in `schema`, nested ones too, the NUL-free pattern."""
    if schema.get("type") == "string":
        schema.setdefault("pattern", TEXT_PATTERN)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _text_without_nul(schema[key])
