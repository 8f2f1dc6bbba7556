"""JWT endpoints: obtain a token pair with a password, refresh the access token.

simplejwt's views, documented with their error responses. Refreshing also
checks the token's user the way each request does (it exists, is active and
has not changed password since), so that a refresh token of a deleted user
is a 401 rather than simplejwt's unhandled lookup error.

Unlike the rest of the API, these two also read form bodies (as
`curl -d username=...` sends): the credentials are flat, and form-posting
OAuth-style clients expect it.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.serializers import (
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)

from jobportal.api.parsers import BoundedJSONParser
from jobportal.api.responses import ERROR_DETAIL, FIELD_ERRORS, UNSUPPORTED

PARSERS = (BoundedJSONParser, FormParser, MultiPartParser)

# The request bodies as documented: the patterns keep to what simplejwt's
# fields accept (no NUL characters, nothing blank once trimmed), so that a
# body the schema allows is read, not refused.
OBTAIN_REQUEST = inline_serializer(
    "Credentials",
    fields={
        "username": serializers.CharField(
            validators=[RegexValidator(r"\A[\w.@+-]+\Z")]
        ),
        "password": serializers.CharField(
            validators=[RegexValidator(r"\A[^\x00]*[^\x00\s][^\x00]*\Z")]
        ),
    },
)
REFRESH_REQUEST = inline_serializer(
    "RefreshToken",
    fields={
        "refresh": serializers.CharField(
            validators=[RegexValidator(r"\A[A-Za-z0-9_.-]+\Z")]
        )
    },
)


class RefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, refused for a user a request would refuse."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        """Check the token and its user, then issue a new access token."""
        JWTAuthentication().get_user(self.token_class(attrs["refresh"]))
        return super().validate(attrs)


@extend_schema(
    summary="Obtain a JWT pair",
    description=(
        "Exchange a username and password for an access token (send it as "
        "`Authorization: Bearer <access>`) and a refresh token."
    ),
    request=OBTAIN_REQUEST,
    responses={
        200: TokenObtainPairSerializer,
        400: FIELD_ERRORS,
        401: OpenApiResponse(ERROR_DETAIL, description="Wrong or inactive account."),
        415: UNSUPPORTED,
    },
)
class TokenObtainView(jwt_views.TokenObtainPairView):
    """Obtain an access and a refresh token with a username and password."""

    parser_classes = PARSERS


@extend_schema(
    summary="Refresh a JWT",
    request=REFRESH_REQUEST,
    responses={
        200: TokenRefreshSerializer,
        400: FIELD_ERRORS,
        401: OpenApiResponse(ERROR_DETAIL, description="Bad or expired token."),
        415: UNSUPPORTED,
    },
)
class TokenRefreshView(jwt_views.TokenRefreshView):
    """Return a new access token for a refresh token."""

    parser_classes = PARSERS

    serializer_class = RefreshSerializer
