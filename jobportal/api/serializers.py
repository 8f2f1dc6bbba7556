"""Serializers shared by the apps' APIs: strict keys, storable text.

Unknown keys are refused by name (DRF would ignore them), and text that
PostgreSQL cannot store or a process cannot take is refused with a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.settings import api_settings

from jobportal.text import (
    MSG_NO_FIELDS,
    MSG_UNKNOWN_FIELDS,
    MSG_UNSTORABLE_TEXT,
    has_unstorable_text,
    unknown_fields_message,
)

__all__ = [
    "MSG_NO_FIELDS",
    "MSG_UNKNOWN_FIELDS",
    "MSG_UNSTORABLE_TEXT",
    "TEXT_PATTERN",
    "ShapedJSONField",
    "StorableCharField",
    "StorableSlugRelatedField",
    "StrictFieldsMixin",
    "StrictModelSerializer",
    "StrictSerializer",
    "storable_json",
]
# The OpenAPI pattern of text the API accepts: no NUL. Lone surrogates are
# refused too, which a pattern cannot say portably (JSON carries them, but
# a client's text rarely holds one).
TEXT_PATTERN = "^[^\\u0000]*$"


class StrictFieldsMixin:
    """Refuse keys the serializer does not know, naming them.

    DRF ignores unknown keys by default, which would let a typo such as
    "max_atempts" silently fall back to the default.
    """

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        """Refuse unknown keys, then validate as usual."""
        if isinstance(data, Mapping):
            message = unknown_fields_message(data, self.fields)
            if message is not None:
                raise serializers.ValidationError(
                    {api_settings.NON_FIELD_ERRORS_KEY: [message]}
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class ShapedJSONField(serializers.JSONField):
    """A JSON value whose shape the model's validators check.

    `schema` only documents that shape (`jobportal.api.schema`); DRF's JSONField
    would document any value.
    """

    def __init__(self, *, schema: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Keep the OpenAPI schema of the value; the rest is DRF's JSONField."""
        self.schema = schema or {}
        super().__init__(**kwargs)


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A ModelSerializer that refuses keys it does not know, naming them."""


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    """A Serializer that refuses keys it does not know, naming them."""


def storable_json(value: Any) -> Any:
    """Return `value`, refusing text in it that cannot be stored or passed on."""
    if has_unstorable_text(value):
        raise serializers.ValidationError(MSG_UNSTORABLE_TEXT)
    return value


class StorableCharField(serializers.CharField):
    """Text that can be stored and used as a path: no NUL, no lone surrogate.

    Checked before the field's validators run: the script path validators
    would fail on a NUL byte with a ValueError (a 500) rather than a message.
    """

    def to_internal_value(self, data: Any) -> str:
        """Return the text, refusing NUL characters and lone surrogates."""
        value = str(super().to_internal_value(data))
        storable_json(value)
        return value


class StorableSlugRelatedField(serializers.SlugRelatedField):
    """An object named by text that can be looked up: no NUL, no lone surrogate.

    Checked before the query: PostgreSQL refuses such text in a parameter
    with an error (a 500) rather than finding nothing.
    """

    def to_internal_value(self, data: Any) -> Any:
        """Refuse text that cannot be queried, then look the object up."""
        if isinstance(data, str):
            storable_json(data)
        return super().to_internal_value(data)
