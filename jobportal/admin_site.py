"""The portal's admin site: sections in the order operators use them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest

# Apps first to last; apps not listed follow in Django's (alphabetical) order.
APP_ORDER = ("jobs", "notifications", "accounts", "auth")
# Within an app, models first to last by object name; the rest follow.
MODEL_ORDER = {
    "jobs": ("Job", "JobRun", "Script", "Secret", "Worker"),
    "accounts": ("AuditEvent", "APIKey", "UserPreference"),
}


def _rank(order: tuple[str, ...], key: str) -> tuple[int, str]:
    return (order.index(key) if key in order else len(order), key)


class PortalAdminSite(admin.AdminSite):
    """Django's admin site with Jobs first (`APP_ORDER`, `MODEL_ORDER`)."""

    site_header = "Job Trigger Portal"
    site_title = "Job Trigger Portal"
    index_title = "Jobs, runs and scripts"

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[Any]:
        """Return the apps and their models in the operators' order."""
        apps = super().get_app_list(request, app_label)
        apps.sort(key=lambda app: _rank(APP_ORDER, app["app_label"]))
        for app in apps:
            order = MODEL_ORDER.get(app["app_label"], ())
            app["models"].sort(key=lambda model: _rank(order, model["object_name"]))
        return apps


class PortalAdminConfig(AdminConfig):
    """Install `PortalAdminSite` as `admin.site` (in INSTALLED_APPS)."""

    default_site = "jobportal.admin_site.PortalAdminSite"
