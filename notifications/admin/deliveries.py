"""Deliveries (the outbox) and their attempts: read-only records."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from jobportal.admin import RecordAdmin
from notifications import permissions
from notifications.models import DeliveryAttempt, Notification


class AttemptInline(admin.TabularInline):
    """The attempts of one delivery, read-only."""

    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("at", "outcome", "response_code", "error", "duration_ms")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Records only."""
        return False


@admin.register(Notification)
class DeliveryAdmin(RecordAdmin):
    """Deliveries (outbox rows) with their attempts; filter by job, channel, status."""

    list_display = (
        "created_at",
        "event",
        "job",
        "channel",
        "status",
        "attempts",
        "delivered_at",
    )
    list_filter = (
        "status",
        "event",
        "channel",
        ("job", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("job", "channel")
    search_fields = ("idempotency_key", "job__name")
    readonly_fields = (
        "channel",
        "job",
        "run",
        "event",
        "idempotency_key",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "delivered_at",
        "last_error",
        "subject",
        "body",
        "facts",
    )
    inlines = (AttemptInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        """Deliveries the user may see."""
        return permissions.deliveries_visible_to(request.user).select_related(
            "job", "channel"
        )
