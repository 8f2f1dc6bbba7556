"""URL routes: the admin is the UI; the API arrives with its issue."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Job Trigger Portal"
admin.site.site_title = "Job Trigger Portal"
admin.site.index_title = "Jobs, runs and scripts"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
]
