"""The admin page where each user sets their own display time zone."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from accounts.models import UserPreference
from accounts.services.users import user_preference_get


@admin.register(UserPreference)
class UserPreferenceAdmin(admin.ModelAdmin):
    """One's own display settings: the list opens the signed-in user's row."""

    fields = ("timezone",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[UserPreference]:
        """Show users only their own settings."""
        return super().get_queryset(request).filter(user=request.user.pk)

    def has_module_permission(self, request: HttpRequest) -> bool:
        """Every staff user has settings of their own."""
        return request.user.is_active and request.user.is_staff

    def has_view_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Allow one's own row only."""
        return self.has_module_permission(request) and (
            obj is None or getattr(obj, "user_id", None) == request.user.pk
        )

    def has_change_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Allow one's own row only."""
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Refuse: the row is created on the first visit."""
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Refuse: an empty zone is the way back to the default."""
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Open the signed-in user's own settings."""
        preference = user_preference_get(user=request.user)  # type: ignore[arg-type]
        url = reverse("admin:accounts_userpreference_change", args=[preference.pk])
        return HttpResponseRedirect(url)
