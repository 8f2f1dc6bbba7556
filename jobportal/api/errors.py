"""The API's one exception handler: expected failures become 4xx, bugs stay 500.

Django's `ValidationError` (raised by model validators and services) and the
portal's own `JobsError`s are the client's mistake or a refused action, so
they answer 400 in DRF's field -> messages shape; a `PermissionError` among
them (a script that is not approved, say) answers 403. Everything else goes
to DRF's own handler, which leaves unknown exceptions alone (a 500).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from jobs.errors import JobsError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map Django validation errors and `JobsError`s to DRF errors, then render."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, JobsError) and isinstance(exc, PermissionError):
        exc = exceptions.PermissionDenied(str(exc))
    elif isinstance(exc, JobsError):
        exc = exceptions.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: [str(exc)]}
        )
    return drf_exception_handler(exc, context)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer an unknown URL under /api/ in JSON, like every API error."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
