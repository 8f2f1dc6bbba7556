"""The blackout calendar admin: a calendar with its windows as inline rows.

Saving and deleting go through `jobs.services.blackouts` (audited); the
windows are validated by the model (`BlackoutWindow.clean`) in each row.
Managing calendars takes the model permissions (the Admin role); the other
roles see them.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Model, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from jobportal import clock
from jobs.admin.access import actor_ip
from jobs.models import BlackoutCalendar, BlackoutWindow
from jobs.permissions import can_manage_blackouts, can_view_blackouts
from jobs.services.blackouts import blackout_calendar_delete, blackout_calendar_save


class BlackoutRights:
    """Calendars and their windows: seen and managed as the API allows."""

    def has_view_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Any role sees calendars."""
        return can_view_blackouts(request.user)

    def has_add_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Managing calendars takes the model permissions."""
        return can_manage_blackouts(request.user)

    def has_change_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Managing calendars takes the model permissions."""
        return can_manage_blackouts(request.user)

    def has_delete_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        """Managing calendars takes the model permissions."""
        return can_manage_blackouts(request.user)


class BlackoutWindowInline(BlackoutRights, admin.TabularInline):
    """One row per window; the fields a row's kind does not use stay empty."""

    model = BlackoutWindow
    extra = 1
    fields = BlackoutWindow.FIELDS


@admin.register(BlackoutCalendar)
class BlackoutCalendarAdmin(BlackoutRights, admin.ModelAdmin):
    """Calendars by name, zone, whether global, and how many jobs use them."""

    inlines = (BlackoutWindowInline,)
    list_display = ("name", "timezone", "is_global", "window_count", "job_count")
    list_filter = ("is_global",)
    search_fields = ("name", "description")
    fields = ("name", "description", "timezone", "is_global")

    def get_queryset(self, request: HttpRequest) -> QuerySet[BlackoutCalendar]:
        """Count windows and jobs in the same query."""
        return (
            super()
            .get_queryset(request)
            .annotate(
                window_total=Count("windows", distinct=True),
                job_total=Count("jobs", distinct=True),
            )
        )

    @admin.display(description="Windows")
    def window_count(self, calendar: BlackoutCalendar) -> int:
        """Return how many windows the calendar has."""
        return int(getattr(calendar, "window_total", 0))

    @admin.display(description="Jobs")
    def job_count(self, calendar: BlackoutCalendar) -> int | str:
        """Return how many jobs name the calendar ("all" when global)."""
        if calendar.is_global:
            return "all"
        return int(getattr(calendar, "job_total", 0))

    def save_model(
        self, request: HttpRequest, obj: BlackoutCalendar, form: ModelForm, change: bool
    ) -> None:
        """Save nothing yet: `save_related` saves calendar and windows together."""

    def save_related(
        self,
        request: HttpRequest,
        form: ModelForm,
        formsets: list[BaseInlineFormSet],
        change: bool,
    ) -> None:
        """Save the calendar and its windows through the service."""
        windows: list[BlackoutWindow] = []
        for formset in formsets:
            # Records what changed for the history message; writes nothing.
            formset.save(commit=False)
            windows += [
                row.instance
                for row in formset.forms
                if row.has_changed() or row.instance.pk is not None
                if not getattr(row, "cleaned_data", {}).get("DELETE")
            ]
        blackout_calendar_save(
            calendar=form.instance,
            windows=windows,
            now=clock.now(),
            actor=request.user,
            ip=actor_ip(request),
        )

    def delete_model(self, request: HttpRequest, obj: BlackoutCalendar) -> None:
        """Delete through the service (audited)."""
        blackout_calendar_delete(
            calendar=obj, now=clock.now(), actor=request.user, ip=actor_ip(request)
        )

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[BlackoutCalendar]
    ) -> None:
        """Delete each calendar through the service (audited)."""
        for calendar in queryset:
            self.delete_model(request, calendar)
