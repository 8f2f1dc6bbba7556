"""API key authentication: `Authorization: Api-Key <key>` or `X-API-Key: <key>`.

The request acts as the key's owner (`request.user`), with exactly the
owner's rights; `request.auth` is the `APIKey`, so that rate limits count
each key apart (`jobportal.api.throttling`) and views can tell a key from a
session or a JWT.

This class comes first in DEFAULT_AUTHENTICATION_CLASSES: DRF answers an
unauthenticated request with 401 only if the first class names a
`WWW-Authenticate` challenge, which session authentication does not.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.models import APIKey
from accounts.services.api_keys import MSG_INVALID, APIKeyError, api_key_authenticate
from jobportal import clock

KEYWORD = "Api-Key"
HEADER = "X-API-Key"
# Longer than any key: refused before any work.
MAX_KEY_LENGTH = 100


class APIKeyAuthentication(BaseAuthentication):
    """Authenticate a request by an API key in its headers."""

    def authenticate(self, request: Request) -> tuple[Any, APIKey] | None:
        """Return (owner, key) for a good key, None when no key is given.

        A key that is given but wrong, revoked or expired, or whose owner is
        inactive, fails with 401 and says which.
        """
        raw_key = _key_in_headers(request)
        if raw_key is None:
            return None
        if len(raw_key) > MAX_KEY_LENGTH:
            raise exceptions.AuthenticationFailed(MSG_INVALID)
        try:
            api_key = api_key_authenticate(raw_key=raw_key, now=clock.now())
        except APIKeyError as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return api_key.owner, api_key

    def authenticate_header(self, request: Request) -> str:
        """Name the challenge, so that DRF answers 401 rather than 403."""
        return f'{KEYWORD} realm="api"'


def _key_in_headers(request: Request) -> str | None:
    """Return the key from `Authorization: Api-Key …` or `X-API-Key`, else None.

    A header that names an API key but holds no key gives "" (a wrong key),
    never None, so that it fails instead of falling through to another kind
    of authentication.
    """
    scheme, _, rest = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == KEYWORD.lower():
        return rest.strip()
    header = request.META.get("HTTP_" + HEADER.upper().replace("-", "_"))
    return header.strip() if header is not None else None


class APIKeyScheme(OpenApiAuthenticationExtension):
    """Document API key authentication in the OpenAPI schema."""

    target_class = APIKeyAuthentication
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        """Return the security scheme: a key in the X-API-Key header."""
        return {
            "type": "apiKey",
            "in": "header",
            "name": HEADER,
            "description": (
                f"An API key, in `{HEADER}: <key>` or in "
                f"`Authorization: {KEYWORD} <key>`. Create one with "
                "POST /api/keys (signed in), in the admin, or with "
                "`manage.py createapikey`."
            ),
        }
