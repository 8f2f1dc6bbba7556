"""Routes of the accounts API (API keys, JWT), mounted at /api/."""

from django.urls import re_path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

urlpatterns = [
    re_path(r"^auth/token/?$", TokenObtainPairView.as_view(), name="token-obtain"),
    re_path(
        r"^auth/token/refresh/?$", TokenRefreshView.as_view(), name="token-refresh"
    ),
]
