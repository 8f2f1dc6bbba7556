"""The scripts API: the registry, a script's content and diff, approve and reject.

It shows what the script admin (`jobs.admin.scripts`) shows, to the same
people: anyone who may see scripts (`can_view_scripts`) lists them and reads
a script's current content and its diff against the approved content.
Approvers (`can_approve_scripts`) approve or reject the content they saw:
the request names its SHA-256, as shown with the content, and nothing is
approved if the file changed since (409). The approval services write the
review history and the audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobportal import clock
from jobportal.api.ids import ObjectByIdMixin, id_path_parameter
from jobportal.api.responses import (
    ERROR_DETAIL,
    LIST_ERRORS,
    READ_ERRORS,
    UNSUPPORTED,
)
from jobportal.api.serializers import StrictModelSerializer
from jobs.api.access import require
from jobs.api.filters import StableOrderingFilter, StrictBooleanFilter, TextFilter
from jobs.models import Script, ScriptReview
from jobs.permissions import can_approve_scripts, can_view_scripts
from jobs.presentation import (
    MAX_SHOWN_LINES,
    MSG_CUT,
    MSG_DIFF_LABEL_APPROVED,
    MSG_DIFF_LABEL_CURRENT,
    MSG_NEVER_APPROVED,
    MSG_SAME_AS_APPROVED,
)
from jobs.script_content import ScriptFile, decode_text, numbered_lines, unified_diff
from jobs.selectors import script_current_file
from jobs.services.approval import ScriptChangedError, script_approve, script_reject

ID_PARAMETER = id_path_parameter()
# \A and \Z: "$" would let a trailing newline through (the schema shows ^ $).
SHA256_PATTERN = r"\A[0-9a-fA-F]{64}\Z"

MSG_SHA256 = "Give the SHA-256 shown with the script's content (64 hexadecimal digits)."
ACTION_VIEW = "view scripts"
ACTION_REVIEW = "approve or reject scripts"


class ScriptChanged(APIException):
    """The file no longer has the content the approver saw (409)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ScriptAccess(BasePermission):
    """Seeing scripts takes `can_view_scripts`; reviewing, `can_approve_scripts`."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        """Raise 403 naming what the user may not do, else allow."""
        if getattr(view, "action", None) in ("approve", "reject"):
            require(can_approve_scripts(request.user), ACTION_REVIEW)
        else:
            require(can_view_scripts(request.user), ACTION_VIEW)
        return True


# --- filters -------------------------------------------------------------------


class ScriptFilter(django_filters.FilterSet):
    """The admin's list filters and search, and ordering."""

    status = django_filters.ChoiceFilter(choices=Script.Status.choices)
    missing = StrictBooleanFilter(
        field_name="is_missing", help_text="Not found at the last sync."
    )
    path = TextFilter(lookup_expr="icontains", help_text="Part of the path, any case.")
    ordering = StableOrderingFilter(
        fields=("path", "status", "size_bytes", "modified_at", "approved_at"),
        help_text="Sort by these fields (comma-separated, '-' for descending).",
    )

    class Meta:
        model = Script
        fields = ("status", "missing", "path")


# --- output --------------------------------------------------------------------


class ScriptReviewOutput(serializers.ModelSerializer):
    """One approval or rejection: what, which content, who, when and why."""

    actor = serializers.CharField(source="actor_name", help_text="Who reviewed.")

    class Meta:
        model = ScriptReview
        fields = ("action", "sha256", "note", "actor", "at")
        read_only_fields = fields


class ScriptOutput(serializers.ModelSerializer):
    """A script as the registry list shows it."""

    approved_by = serializers.CharField(source="approved_by_name")
    is_runnable = serializers.BooleanField(
        help_text="The content last seen is the approved content."
    )
    has_changed_since_approval = serializers.BooleanField()

    class Meta:
        model = Script
        # Annotated so that subclasses may add fields.
        fields: tuple[str, ...] = (
            "id",
            "path",
            "status",
            "is_missing",
            "is_runnable",
            "has_changed_since_approval",
            "sha256",
            "size_bytes",
            "modified_at",
            "approved_by",
            "approved_at",
        )
        read_only_fields = fields


class ScriptContentOutput(serializers.Serializer):
    """The file as it is now: the content an approver approves by its hash."""

    sha256 = serializers.CharField(help_text="Send this to approve or reject.")
    size_bytes = serializers.IntegerField()
    modified_at = serializers.DateTimeField()
    text = serializers.CharField(
        help_text="UTF-8 text, undecodable bytes replaced; cut if too long."
    )
    line_count = serializers.IntegerField()
    is_truncated = serializers.BooleanField()
    note = serializers.CharField(allow_null=True, help_text="Why the text is cut.")


class ScriptDiffOutput(serializers.Serializer):
    """The unified diff from the approved content to the current one."""

    lines = serializers.ListField(child=serializers.CharField())
    note = serializers.CharField(
        allow_null=True, help_text="Why there are no lines, if there are none."
    )


class ScriptDetailOutput(ScriptOutput):
    """A script with its approval, history, current content and diff."""

    last_review = serializers.SerializerMethodField()
    reviews = serializers.SerializerMethodField()
    content = serializers.SerializerMethodField()
    content_error = serializers.SerializerMethodField()
    diff = serializers.SerializerMethodField()

    class Meta(ScriptOutput.Meta):
        fields = (
            *ScriptOutput.Meta.fields,
            "registered_at",
            "updated_at",
            "approved_sha256",
            "last_review",
            "reviews",
            "content",
            "content_error",
            "diff",
        )
        read_only_fields = fields

    @extend_schema_field(ScriptReviewOutput(allow_null=True))
    def get_last_review(self, script: Script) -> dict[str, Any] | None:
        """Return the latest review, or None."""
        reviews = self._reviews(script)
        return ScriptReviewOutput(reviews[0]).data if reviews else None

    @extend_schema_field(ScriptReviewOutput(many=True))
    def get_reviews(self, script: Script) -> list[dict[str, Any]]:
        """Return the approval history, newest first."""
        return [ScriptReviewOutput(review).data for review in self._reviews(script)]

    @extend_schema_field(ScriptContentOutput(allow_null=True))
    def get_content(self, script: Script) -> dict[str, Any] | None:
        """Return the current content, or None if the file cannot be read."""
        current = self._current(script)
        if isinstance(current, str):
            return None
        lines = numbered_lines(decode_text(current.content))
        is_truncated = len(lines) > MAX_SHOWN_LINES
        if is_truncated:
            text = "".join(f"{line}\n" for _, line in lines[:MAX_SHOWN_LINES])
        else:
            text = decode_text(current.content)
        note = MSG_CUT.format(shown=MAX_SHOWN_LINES, total=len(lines))
        return ScriptContentOutput(
            {
                "sha256": current.sha256,
                "size_bytes": current.size_bytes,
                "modified_at": current.modified_at,
                "text": text,
                "line_count": len(lines),
                "is_truncated": is_truncated,
                "note": note if is_truncated else None,
            }
        ).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_content_error(self, script: Script) -> str | None:
        """Return why the file cannot be read, or None."""
        current = self._current(script)
        return current if isinstance(current, str) else None

    @extend_schema_field(ScriptDiffOutput())
    def get_diff(self, script: Script) -> dict[str, Any]:
        """Return the diff against the approved content, as the admin shows it."""
        if not script.approved_content and script.approved_at is None:
            return {"lines": [], "note": MSG_NEVER_APPROVED}
        current = self._current(script)
        if isinstance(current, str):
            return {"lines": [], "note": current}
        approved_at = script.approved_at
        lines = unified_diff(
            script.approved_content,
            decode_text(current.content),
            old_label=MSG_DIFF_LABEL_APPROVED.format(
                date=f"{approved_at:%Y-%m-%d %H:%M} UTC" if approved_at else "?",
                user=script.approved_by_name or "?",
            ),
            new_label=MSG_DIFF_LABEL_CURRENT,
        )
        return {"lines": lines, "note": None if lines else MSG_SAME_AS_APPROVED}

    def _reviews(self, script: Script) -> list[ScriptReview]:
        return list(script.reviews.all())

    def _current(self, script: Script) -> ScriptFile | str:
        # One read per response: the content, its hash and the diff must
        # all be the same bytes, or an approver could approve unseen ones.
        current = getattr(script, "current_file", None)
        if current is None:
            current = script_current_file(script)
            script.current_file = current  # type: ignore[attr-defined]
        return current


# --- input ---------------------------------------------------------------------


class ScriptReviewInput(StrictModelSerializer):
    """Approve or reject the content seen, pinned by its hash; say why."""

    sha256 = serializers.RegexField(
        SHA256_PATTERN,
        trim_whitespace=False,
        help_text="The content's SHA-256, as the script's detail shows it.",
        error_messages={"invalid": MSG_SHA256},
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Why; kept in the approval history.",
    )

    class Meta:
        model = ScriptReview
        fields = ("sha256", "note")


def review_schema(*, summary: str, description: str) -> Any:
    """Return the schema of approve or reject: the content's hash and a note."""
    return extend_schema(
        summary=summary,
        description=description,
        parameters=[ID_PARAMETER],
        request=ScriptReviewInput,
        responses={
            200: ScriptDetailOutput,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Bad input, or the file is missing or unreadable.",
            ),
            **READ_ERRORS,
            409: OpenApiResponse(
                ERROR_DETAIL,
                description="The file changed since the content was shown; "
                "review again.",
            ),
            415: UNSUPPORTED,
        },
    )


# --- views ---------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List scripts",
        description="The script registry, by path (filters as in the admin).",
        responses={200: ScriptOutput(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        parameters=[ID_PARAMETER],
        summary="Show a script",
        description=(
            "The script with its approval history, its current content (with "
            "the SHA-256 to approve it by) and the diff against the content "
            "last approved."
        ),
        responses={200: ScriptDetailOutput, **READ_ERRORS},
    ),
)
class ScriptViewSet(
    ObjectByIdMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Scripts: list, detail, and approve or reject for approvers."""

    permission_classes = (IsAuthenticated, ScriptAccess)
    filterset_class = ScriptFilter
    # Any path segment reaches the view, so that a malformed id is a JSON 404
    # like an unknown one (not Django's HTML page).
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Script]:
        """Return every script (whoever may see scripts sees them all)."""
        queryset = Script.objects.all()
        if self.action != "list":
            queryset = queryset.prefetch_related("reviews")
        return queryset

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        """Return the list's, the detail's or the review's serializer."""
        if self.action == "list":
            return ScriptOutput
        if self.action in ("approve", "reject"):
            return ScriptReviewInput
        return ScriptDetailOutput

    @review_schema(
        summary="Approve a script",
        description="Approve the content shown by the script's detail, named "
        "by its SHA-256. Approvers only.",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        """Approve the script's current content, if it is what the approver saw."""
        return self._review(request, script_approve)

    @review_schema(
        summary="Reject a script",
        description="Reject the content shown by the script's detail, named "
        "by its SHA-256; rejecting the approved content revokes its approval. "
        "Approvers only.",
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        """Reject the script's current content, if it is what the approver saw."""
        return self._review(request, script_reject)

    def _review(self, request: Request, review: Callable[..., Script]) -> Response:
        script = self.get_object()
        data = ScriptReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            script = review(
                script=script,
                actor=request.user,
                note=data.validated_data["note"],
                now=clock.now(),
                expected_sha256=data.validated_data["sha256"].lower(),
            )
        except ScriptChangedError as exc:
            raise ScriptChanged(str(exc)) from None
        script = self.get_queryset().get(pk=script.pk)
        return Response(ScriptDetailOutput(script).data)
