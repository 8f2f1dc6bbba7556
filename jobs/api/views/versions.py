"""The job versions API: list, show, diff and restore, as the job admin does.

Versions are seen with their job (`jobs_visible_to`), so a version of a job
the user may not see is a 404. A version's snapshot is its job document,
which names the job's secrets but never holds their values. The diff is the
admin's, change by change; restoring takes the right to change the job
(`can_restore_job_version`) and goes through `job_version_restore`, which
stores a new version and audits a "restore".
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.client import request_ip
from jobportal import clock
from jobportal.api.filters import InstantFilter
from jobportal.api.ids import (
    ID_SCHEMA,
    IdField,
    IdFilter,
    ObjectByIdMixin,
    id_path_parameter,
)
from jobportal.api.responses import (
    BAD_FILTER,
    LIST_ERRORS,
    READ_ERRORS,
    UNSUPPORTED,
)
from jobs.api.access import require
from jobs.api.filters import StableOrderingFilter
from jobs.models import JobVersion
from jobs.permissions import can_restore_job_version, jobs_visible_to
from jobs.presentation import (
    MSG_FIRST_VERSION,
    MSG_RESTORED,
    MSG_RESTORED_UNCHANGED,
    author_name,
)
from jobs.services.jobs import job_version_restore
from jobs.services.versions import job_version_diff, snapshot_ordered
from jobs.version_diff import MISSING, MSG_NO_CHANGES, Change

ID_PARAMETER = id_path_parameter()

MSG_AGAINST_OTHER_JOB = "Version {against} is not a version of this job."
MSG_NO_BODY = "Restoring takes no request body."


# --- filters -------------------------------------------------------------------


class VersionFilter(django_filters.FilterSet):
    """Filter by job and date; newest first unless ordered otherwise."""

    job = IdFilter(field_name="job_id", help_text="The job's id.")
    created_after = InstantFilter(
        field_name="created_at", lookup_expr="gte", help_text="Stored at or after."
    )
    created_before = InstantFilter(
        field_name="created_at", lookup_expr="lt", help_text="Stored before."
    )
    ordering = StableOrderingFilter(
        fields=("created_at", "number"),
        help_text="Sort by these fields (comma-separated, '-' for descending).",
    )

    class Meta:
        model = JobVersion
        fields = ("job", "created_after", "created_before")


# --- output --------------------------------------------------------------------


class VersionOutput(serializers.ModelSerializer):
    """A version as the job's history lists it."""

    job_name = serializers.CharField(source="job.name")
    author = serializers.SerializerMethodField(help_text='Who stored it, or "system".')

    class Meta:
        model = JobVersion
        # Annotated so that subclasses may add fields.
        fields: tuple[str, ...] = (
            "id",
            "job",
            "job_name",
            "number",
            "author",
            "note",
            "created_at",
        )
        read_only_fields = fields

    def get_author(self, version: JobVersion) -> str:
        """Return who stored the version, or "system"."""
        return author_name(version)


class VersionDetailOutput(VersionOutput):
    """A version with its snapshot: the job document (secrets by name only)."""

    snapshot = serializers.SerializerMethodField()

    class Meta(VersionOutput.Meta):
        fields = (*VersionOutput.Meta.fields, "snapshot")
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_snapshot(self, version: JobVersion) -> dict[str, Any]:
        """Return the snapshot, its keys in document order."""
        return snapshot_ordered(version.snapshot)


class VersionChangeOutput(serializers.Serializer):
    """One difference between two versions."""

    field = serializers.CharField(help_text="Its path: schedules[0].time.")
    kind = serializers.ChoiceField(choices=("added", "removed", "changed"))
    old = serializers.JSONField(allow_null=True, help_text="None when added.")
    new = serializers.JSONField(allow_null=True, help_text="None when removed.")
    text = serializers.CharField(help_text="The change as the admin shows it.")


class VersionDiffOutput(serializers.Serializer):
    """The changes from one version (`against`) to another."""

    version = serializers.IntegerField()
    number = serializers.IntegerField()
    against = serializers.IntegerField(allow_null=True)
    against_number = serializers.IntegerField(allow_null=True)
    changes = VersionChangeOutput(many=True)
    note = serializers.CharField(help_text="Empty when there are changes.")


class VersionRestoreOutput(serializers.Serializer):
    """What restoring did: the job's latest version afterwards."""

    detail = serializers.CharField()
    is_changed = serializers.BooleanField(
        help_text="False when the version was the current definition already."
    )
    job = serializers.IntegerField()
    version = VersionDetailOutput()


class VersionDiffQuery(serializers.Serializer):
    """The diff's query: the version to compare with."""

    against = IdField(required=False)


def change_data(change: Change) -> dict[str, Any]:
    """Return one change as the API shows it."""
    return {
        "field": change.path,
        "kind": change.kind,
        "old": None if change.old is MISSING else change.old,
        "new": None if change.new is MISSING else change.new,
        "text": str(change),
    }


# --- views ---------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List job versions",
        description="Versions of the jobs the user may see, newest first.",
        responses={200: VersionOutput(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        parameters=[ID_PARAMETER],
        summary="Show a job version",
        description="The version with its snapshot (secrets by name only).",
        responses={200: VersionDetailOutput, **READ_ERRORS},
    ),
)
class VersionViewSet(
    ObjectByIdMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Job versions: list, detail, diff and restore."""

    permission_classes = (IsAuthenticated,)
    filterset_class = VersionFilter
    # Any path segment reaches the view, so that a malformed id is a JSON 404
    # like an unknown one (not Django's HTML page).
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[JobVersion]:
        """Return the versions of the jobs the user may see, newest first."""
        return (
            JobVersion.objects.filter(job__in=jobs_visible_to(self.request.user))
            .select_related("job", "author")
            .order_by("-created_at", "-pk")
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        """Return the list's or the detail's serializer."""
        return VersionOutput if self.action == "list" else VersionDetailOutput

    @extend_schema(
        summary="Compare two versions",
        description=(
            "The changes from `against` (default: the version before this one) "
            "to this version, as the admin lists them."
        ),
        parameters=[
            ID_PARAMETER,
            OpenApiParameter(
                "against",
                ID_SCHEMA,
                description="The id of another version of the same job.",
            ),
        ],
        responses={200: VersionDiffOutput, 400: BAD_FILTER, **READ_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def diff(self, request: Request, pk: str) -> Response:
        """Return the changes from `against` (or the previous version) to this."""
        version = self.get_object()
        query = VersionDiffQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        against = self._against(version, query.validated_data.get("against"))
        if against is None:
            changes: list[dict[str, Any]] = []
            note = MSG_FIRST_VERSION
        else:
            changes = [
                change_data(change)
                for change in job_version_diff(old=against, new=version)
            ]
            note = "" if changes else MSG_NO_CHANGES
        return Response(
            VersionDiffOutput(
                {
                    "version": version.pk,
                    "number": version.number,
                    "against": against.pk if against else None,
                    "against_number": against.number if against else None,
                    "changes": changes,
                    "note": note,
                }
            ).data
        )

    @extend_schema(
        summary="Restore a version",
        description=(
            "Save this version's definition as the job's current one: a new "
            "version, audited as a restore. Takes the right to change the job."
        ),
        parameters=[ID_PARAMETER],
        request=None,
        responses={
            200: VersionRestoreOutput,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="A body was sent, or the old definition is no "
                "longer valid: field -> messages.",
            ),
            **READ_ERRORS,
            415: UNSUPPORTED,
        },
    )
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        """Restore the version as the job's current definition."""
        version = self.get_object()
        require(can_restore_job_version(request.user, version), "restore this version")
        if request.data:
            raise ValidationError({"non_field_errors": [MSG_NO_BODY]})
        job = version.job
        latest_before = job.versions.order_by("-number").first()
        job = job_version_restore(
            version=version, actor=request.user, now=clock.now(), ip=request_ip(request)
        )
        latest = self.get_queryset().filter(job=job).order_by("-number").first()
        is_changed = latest is not None and latest != latest_before
        message = MSG_RESTORED if is_changed else MSG_RESTORED_UNCHANGED
        shown = latest or version
        return Response(
            VersionRestoreOutput(
                {
                    "detail": message.format(
                        old=version.number, job=job, new=shown.number
                    ),
                    "is_changed": is_changed,
                    "job": job.pk,
                    "version": shown,
                }
            ).data
        )

    def _against(self, version: JobVersion, against: int | None) -> JobVersion | None:
        """Return the version to compare with: `against`, else the one before."""
        others = JobVersion.objects.filter(job_id=version.job_id)
        if against is None:
            return others.filter(number__lt=version.number).order_by("-number").first()
        other = others.filter(pk=against).first()
        if other is None:
            raise ValidationError(
                {"against": [MSG_AGAINST_OTHER_JOB.format(against=against)]}
            )
        return other
