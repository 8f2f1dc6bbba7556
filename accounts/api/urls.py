"""Routes of the accounts API (API keys, JWT), mounted at /api/.

Paths have no trailing slash, as documented; a trailing slash is accepted.
"""

from django.urls import re_path

from accounts.api import audit, keys, tokens
from jobportal.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("keys", keys.APIKeyViewSet, basename="apikey")
router.register("audit", audit.AuditEventViewSet, basename="audit")

urlpatterns = [
    re_path(r"^auth/token/?$", tokens.TokenObtainView.as_view(), name="token-obtain"),
    re_path(
        r"^auth/token/refresh/?$",
        tokens.TokenRefreshView.as_view(),
        name="token-refresh",
    ),
    *router.urls,
]
