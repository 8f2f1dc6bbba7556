"""API key endpoints: every user lists, creates and revokes their own keys.

- GET /api/keys: the caller's own keys (never anyone else's; Admins see
  everyone's in the admin).
- POST /api/keys {name, expires_in_days?}: 201 with the full key, shown
  this once. An expiry is a number of days (1 to 3650), so that every
  value the schema allows is accepted; without one the key never expires.
- GET /api/keys/{id}; POST /api/keys/{id}/revoke (200, the revoked key,
  which stays listed as a record; there is no DELETE).

Another user's key is a 404, as if it did not exist. A request made with
an API key may list, read and revoke keys, but not create one: a leaked key
must not be able to mint a replacement that outlives its revocation. Only a
session or a JWT creates keys.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actors import signed_in_user
from accounts.client import request_ip
from accounts.models import APIKey
from accounts.services.api_keys import (
    MAX_EXPIRES_IN_DAYS,
    api_key_create,
    api_key_revoke,
)
from jobportal import clock
from jobportal.api.ids import id_path_parameter, parse_id
from jobportal.api.responses import (
    BAD_FILTER,
    ERROR_DETAIL,
    FIELD_ERRORS,
    FORBIDDEN,
    NO_SUCH_PAGE,
    NOT_SIGNED_IN,
    UNSUPPORTED,
)
from jobportal.api.serializers import StrictModelSerializer

MSG_KEY_CANNOT_CREATE = (
    "An API key cannot create API keys; sign in or use a JWT to create one."
)
MSG_NOT_FOUND = "No API key with this id."
KEY_ID = id_path_parameter()
NOT_FOUND = OpenApiResponse(ERROR_DETAIL, description="Not one of the caller's keys.")


class APIKeyInput(StrictModelSerializer):
    """A new key: a name and, optionally, when it expires."""

    expires_in_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_EXPIRES_IN_DAYS,
        help_text="Expire this many days from now; empty or null: never.",
    )

    class Meta:
        model = APIKey
        fields = ("name", "expires_in_days")
        # Kept as typed: a name of spaces is odd but harmless, and trimming
        # would refuse values the schema allows.
        extra_kwargs: ClassVar[dict[str, dict[str, Any]]] = {
            "name": {"trim_whitespace": False}
        }


class APIKeyOutput(serializers.ModelSerializer):
    """A key as listed: its prefix and dates, never the key or its hash."""

    status = serializers.SerializerMethodField()

    class Meta:
        model = APIKey
        # Annotated so that subclasses may add fields.
        fields: tuple[str, ...] = (
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "status",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=APIKey.Status.choices))
    def get_status(self, api_key: APIKey) -> str:
        """Say whether the key is active, expired or revoked now."""
        return api_key.status(now=self.context["now"])


class APIKeyCreatedOutput(APIKeyOutput):
    """A key just created, with the full key: shown this once only."""

    key = serializers.CharField(
        read_only=True,
        help_text="The full key. Store it now: it cannot be shown again.",
    )

    class Meta(APIKeyOutput.Meta):
        fields = (*APIKeyOutput.Meta.fields, "key")
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        summary="List your API keys",
        responses={
            200: APIKeyOutput(many=True),
            400: BAD_FILTER,
            401: NOT_SIGNED_IN,
            404: NO_SUCH_PAGE,
        },
    ),
    create=extend_schema(
        summary="Create an API key",
        description=(
            "Returns the full key once. Needs a session or a JWT: a request "
            "made with an API key cannot create keys (403)."
        ),
        request=APIKeyInput,
        responses={
            201: APIKeyCreatedOutput,
            400: FIELD_ERRORS,
            401: NOT_SIGNED_IN,
            403: OpenApiResponse(
                ERROR_DETAIL,
                description="Made with an API key, or a session's CSRF token is "
                "missing.",
            ),
            415: UNSUPPORTED,
        },
    ),
    retrieve=extend_schema(
        summary="Show one of your API keys",
        parameters=[KEY_ID],
        responses={200: APIKeyOutput, 401: NOT_SIGNED_IN, 404: NOT_FOUND},
    ),
    revoke=extend_schema(
        summary="Revoke one of your API keys",
        parameters=[KEY_ID],
        request=None,
        responses={
            200: APIKeyOutput,
            401: NOT_SIGNED_IN,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    ),
)
class APIKeyViewSet(viewsets.GenericViewSet):
    """The caller's own API keys."""

    permission_classes = (IsAuthenticated,)
    serializer_class = APIKeyOutput
    # Any id text reaches `get_object`, so that a bad one is a JSON 404.
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[APIKey]:
        """Return the caller's own keys, newest first."""
        if getattr(self, "swagger_fake_view", False):
            return APIKey.objects.none()
        return APIKey.objects.filter(owner=signed_in_user(self.request.user))

    def get_object(self) -> APIKey:
        """Return the caller's key named in the path; 404 for any other id."""
        pk = parse_id(self.kwargs.get("pk", ""))
        api_key = None if pk is None else self.get_queryset().filter(pk=pk).first()
        if api_key is None:
            raise NotFound(MSG_NOT_FOUND)
        return api_key

    def get_serializer_context(self) -> dict[str, Any]:
        """Give serializers the instant that decides whether a key has expired."""
        return {**super().get_serializer_context(), "now": clock.now()}

    def list(self, request: Request) -> Response:
        """List the caller's keys, a page at a time."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        """Create a key for the caller and return it, with the full key, once."""
        if isinstance(request.auth, APIKey):
            raise PermissionDenied(MSG_KEY_CANNOT_CREATE)
        form = APIKeyInput(data=request.data)
        form.is_valid(raise_exception=True)
        now = clock.now()
        days = form.validated_data.get("expires_in_days")
        expires_at = now + timedelta(days=days) if days is not None else None
        api_key, raw_key = api_key_create(
            api_key=APIKey(
                owner=signed_in_user(request.user),
                name=form.validated_data["name"],
                expires_at=expires_at,
            ),
            actor=request.user,
            ip=request_ip(request),
            now=now,
        )
        data = {**self.get_serializer(api_key).data, "key": raw_key}
        return Response(data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: str) -> Response:
        """Show one of the caller's keys."""
        return Response(self.get_serializer(self.get_object()).data)

    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        """Revoke one of the caller's keys and return it (kept, as revoked)."""
        api_key = api_key_revoke(
            api_key=self.get_object(),
            actor=request.user,
            ip=request_ip(request),
            now=clock.now(),
        )
        return Response(self.get_serializer(api_key).data)
