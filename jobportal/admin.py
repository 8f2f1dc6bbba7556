"""Admin base shared by the apps: records that only services write (history, logs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.utils.safestring import SafeString

from jobportal.times import instant_html, zone_label


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


def instant_column(
    *,
    field: str,
    label: str,
    job_zone: Callable[[Any], str] | None = None,
) -> Callable[[Any], SafeString | str]:
    """Return a list column showing `field` by `jobportal.times`' rule.

    Built per request (from `get_list_display`), so that its header can name
    the zone the viewer sees: "scheduled for (job's zone)", "at
    (Europe/Paris)". `job_zone` returns a row's job zone, if rows have one.
    """

    def column(row: Any) -> SafeString | str:
        zone = job_zone(row) if job_zone is not None else None
        return instant_html(getattr(row, field), job_zone=zone)

    shown = zone_label(per_job=job_zone is not None)
    column.short_description = f"{label} ({shown})"  # type: ignore[attr-defined]
    column.admin_order_field = field  # type: ignore[attr-defined]
    return column


class InstantColumnsMixin(admin.ModelAdmin):
    """Swap date-time fields in `list_display` for `instant_column`s, per request.

    `instant_columns` maps a field named in `list_display` to (label, job
    zone getter or None).
    """

    instant_columns: ClassVar[dict[str, tuple[str, Callable[[Any], str] | None]]]

    def get_list_display(self, request: HttpRequest) -> Any:
        """Return `list_display` with the instant columns for this request."""
        columns: list[Any] = []
        for name in super().get_list_display(request):
            spec = self.instant_columns.get(name) if isinstance(name, str) else None
            if spec is None or not isinstance(name, str):
                columns.append(name)
            else:
                label, job_zone = spec
                columns.append(
                    instant_column(field=name, label=label, job_zone=job_zone)
                )
        return columns

    def get_sortable_by(self, request: HttpRequest) -> Any:
        """Sort by any column that says how (None: every such column).

        The default compares with a second `get_list_display`, whose freshly
        built columns never equal the shown ones.
        """
        return self.sortable_by
