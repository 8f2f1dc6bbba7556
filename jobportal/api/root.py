"""`GET /api/`: the API's root, with links to its resources, docs and schema."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

# (name, URL name in the "api" namespace): what a client starts from.
RESOURCES = (
    ("jobs", "api:job-list"),
    ("logs", "api:log-list"),
    ("scripts", "api:script-list"),
    ("versions", "api:version-list"),
    ("schedule_preview", "api:schedule-preview"),
    ("keys", "api:apikey-list"),
    ("token", "api:token-obtain"),
    ("token_refresh", "api:token-refresh"),
    ("health", "api:health"),
)
NAME = "Job Trigger Portal API"


class ApiRootView(APIView):
    """List the API's entry points; open to all, like /api/health."""

    permission_classes = (AllowAny,)

    # Left out of the schema: it documents operations, and this page only
    # points at them (schemathesis would also call it as "/api", a redirect).
    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        """Answer with absolute links."""

        def link(name: str) -> str:
            return request.build_absolute_uri(reverse(name))

        body: dict[str, Any] = {
            "name": NAME,
            "resources": {key: link(name) for key, name in RESOURCES},
            "docs": link("api:docs"),
            "schema": link("api:schema"),
            "admin": link("admin:index"),
        }
        return Response(body)
