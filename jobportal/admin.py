"""Admin base shared by the apps: records that only services write (history, logs)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest


class RecordAdmin(admin.ModelAdmin):
    """Viewable, never added or changed by hand; deleting is refused too.

    Subclasses that allow deleting (run history, for superusers) override
    `has_delete_permission`.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Refuse: rows are written by the services only."""
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Refuse: records are not edited."""
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Refuse: records are kept."""
        return False
