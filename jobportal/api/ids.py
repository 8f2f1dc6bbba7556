"""Object ids in paths and query parameters, checked before any query.

Ids are positive bigints. A longer number cannot name anything and would
overflow PostgreSQL's bigint (a DataError, so a 500) in the query, and
Python refuses to read a number of 4300 digits or more (a ValueError), so
the text is checked before it becomes a number: an id in a path that
cannot be one is a 404, like an unknown one, and one in a query parameter
is a 400 naming the parameter.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

MAX_ID = 2**63 - 1
# The OpenAPI schema of an id, in a path or a query parameter.
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def id_path_parameter(name: str = "id") -> OpenApiParameter:
    """Return the OpenAPI description of the path parameter `name`: an id."""
    return OpenApiParameter(name, ID_SCHEMA, OpenApiParameter.PATH)


def parse_id(value: object) -> int | None:
    """Return `value` (text from a URL) as an id, or None if it cannot be one."""
    digits = str(value).lstrip("0")
    # Length first: int() of thousands of digits raises, or takes long.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(MAX_ID)):
        return None
    number = int(digits)
    return number if number <= MAX_ID else None


def id_or_404(value: object) -> int:
    """Return `value` as an id, or raise Http404 (a JSON 404 in the API)."""
    number = parse_id(value)
    if number is None:
        raise Http404
    return number


@extend_schema_field(ID_SCHEMA)
class IdField(serializers.IntegerField):
    """An id in a query serializer: a whole number from 1 to MAX_ID, else 400."""

    def __init__(self, **kwargs: Any) -> None:
        """Bound the number to what an id column holds."""
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


@extend_schema_field(ID_SCHEMA)
class IdFilter(django_filters.NumberFilter):
    """Filter on an object id (`?job=7`): 1 to MAX_ID, else 400 naming it."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Bound the number to what an id column holds."""
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class ObjectByIdMixin:
    """Find a view's object by the path's id among `get_queryset()`.

    An id that cannot exist is a 404 like an unknown one, and the list's
    filters do not apply to one object (`?status=` on a detail hides
    nothing).
    """

    # Provided by DRF's GenericAPIView, which the view also derives from.
    kwargs: Any
    request: Any
    lookup_field: str
    lookup_url_kwarg: str | None
    get_queryset: Any
    check_object_permissions: Any

    def get_object(self) -> Any:
        """Return the object named in the URL, or raise Http404."""
        raw = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        obj = get_object_or_404(self.get_queryset(), pk=id_or_404(raw))
        self.check_object_permissions(self.request, obj)
        return obj
