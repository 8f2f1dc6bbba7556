"""The error responses that API views document (drf-spectacular), defined once.

DRF answers 401, 403, 404, 409 and 415 with `{"detail": message}` (the
`ErrorDetail` component) and a 400 with field -> messages. Views combine
these in `extend_schema(responses=...)`; a view with its own wording uses
`ERROR_DETAIL` in its own `OpenApiResponse`.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    """DRF's error body: what went wrong, in words."""

    detail = serializers.CharField()
    code = serializers.CharField(
        required=False, help_text="Why a JWT was refused (JWT authentication only)."
    )


ERROR_DETAIL = ErrorDetailSerializer

FIELD_ERRORS = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='Invalid input: {"<field>": ["<message>", ...]}; nested fields '
    'nest ({"retry": {"max_attempts": [...]}}), problems with the whole body '
    'are under "non_field_errors", and a body that is not valid JSON gives '
    '{"detail": "<message>"}.',
)
BAD_FILTER = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='A bad query parameter: {"<parameter>": ["<message>", ...]}.',
)
NOT_SIGNED_IN = OpenApiResponse(
    ERROR_DETAIL,
    description="Not authenticated: no credentials, or wrong, expired or revoked ones.",
)
FORBIDDEN = OpenApiResponse(
    ERROR_DETAIL,
    description="The right is refused (or a session's CSRF token is missing).",
)
NOT_FOUND = OpenApiResponse(
    ERROR_DETAIL, description="No such object, or one the user may not see."
)
NO_SUCH_PAGE = OpenApiResponse(ERROR_DETAIL, description="No such page.")
UNSUPPORTED = OpenApiResponse(
    ERROR_DETAIL, description="The body is not JSON (Content-Type)."
)

# The usual sets: a list, a read of one object, and a change to one.
LIST_ERRORS = {
    400: BAD_FILTER,
    401: NOT_SIGNED_IN,
    403: FORBIDDEN,
    404: NO_SUCH_PAGE,
}
READ_ERRORS = {401: NOT_SIGNED_IN, 403: FORBIDDEN, 404: NOT_FOUND}
WRITE_ERRORS = {400: FIELD_ERRORS, **READ_ERRORS, 415: UNSUPPORTED}
