"""The host's URLs: the portal's admin and REST API beside the host's own."""

from django.contrib import admin
from django.urls import include, path

from jobportal.urls import api_patterns

urlpatterns = [
    path("admin/", admin.site.urls),
    # The namespace must be "api": the portal reverses its API routes by it.
    path("api/", include((api_patterns, "api"))),
]
