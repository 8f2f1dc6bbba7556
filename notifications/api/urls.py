"""Routes of the notifications API, mounted at /api/notifications/."""

from django.urls import re_path

from jobportal.api.routers import OptionalSlashRouter
from notifications.api import views

router = OptionalSlashRouter()
router.register("channels", views.ChannelViewSet, basename="notification-channel")
router.register("rules", views.RuleViewSet, basename="notification-rule")
router.register("deliveries", views.DeliveryViewSet, basename="notification-delivery")

urlpatterns = [
    re_path(
        r"^jobs/(?P<job_pk>[^/]+)/resume/?$",
        views.JobResumeView.as_view(),
        name="notification-job-resume",
    ),
    *router.urls,
]
