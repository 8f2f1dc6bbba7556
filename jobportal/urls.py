"""URL routes: the admin is the UI; the API lives under /api/."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from jobportal.api.root import ApiRootView
from jobs.api.views.prometheus import prometheus_metrics

admin.site.site_header = "Job Trigger Portal"
admin.site.site_title = "Job Trigger Portal"
admin.site.index_title = "Jobs, runs and scripts"

api_patterns: list[URLPattern | URLResolver] = [
    path("", ApiRootView.as_view(), name="root"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("", include("accounts.api.urls")),
    path("", include("jobs.api.urls")),
    path("notifications/", include("notifications.api.urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/", include((api_patterns, "api"))),
    path("metrics", prometheus_metrics, name="prometheus-metrics"),
]

handler404 = "jobportal.api.errors.not_found"
