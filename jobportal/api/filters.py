"""Filters every app's API shares: ISO 8601 instants the database can store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms

MSG_RANGE = "Enter a date and time from year 1 to 9999."

__all__ = ["MSG_RANGE", "InstantField", "InstantFilter"]


class InstantField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 instant that the database can store (years 1 to 9999 UTC).

    The instant is converted to UTC here: an offset can push it out of
    range (a validation error, not an OverflowError), and PostgreSQL
    refuses offsets past 15:59 that Python accepts (up to 23:59).
    """

    def to_python(self, value: Any) -> datetime | None:
        """Parse the instant and return it in UTC."""
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(MSG_RANGE, code="range") from None


class InstantFilter(django_filters.IsoDateTimeFilter):
    """Filter on an ISO 8601 instant within the database's range."""

    field_class = InstantField
