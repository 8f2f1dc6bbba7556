"""Run artifacts in the API: `/api/logs/{id}/artifacts` and one file's download.

Whoever may see the run (`runs_visible_to`, as `/api/logs/{id}`) may list
and download its artifacts; a run or artifact one may not see is a 404.
Files are read through the artifacts storage by their recorded name only,
never by a path from the request.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobportal.api.ids import id_or_404
from jobportal.api.responses import READ_ERRORS
from jobs.api.views.runs import run_visible_or_404
from jobs.models import RunArtifact
from jobs.services.artifacts import artifact_download_name, artifact_open


class ArtifactSerializer(serializers.ModelSerializer):
    """One artifact: its name in the run's folder, size and SHA-256."""

    class Meta:
        model = RunArtifact
        fields = ("id", "name", "size", "sha256", "created_at")
        read_only_fields = fields


class RunArtifactsView(APIView):
    """List a run's artifacts."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="List a run's artifacts",
        responses={200: ArtifactSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request, run_pk: str) -> Response:
        """Return the artifacts of a run the user may see, by name."""
        run = run_visible_or_404(request.user, run_pk)
        return Response(ArtifactSerializer(run.artifacts.all(), many=True).data)


class RunArtifactDownloadView(APIView):
    """Download one artifact of a run."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Download a run's artifact",
        responses={
            200: OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
            **READ_ERRORS,
        },
    )
    def get(self, request: Request, run_pk: str, artifact_pk: str) -> Any:
        """Return the file as an attachment."""
        run = run_visible_or_404(request.user, run_pk)
        artifact = get_object_or_404(run.artifacts, pk=id_or_404(artifact_pk))
        return FileResponse(
            artifact_open(artifact),
            as_attachment=True,
            filename=artifact_download_name(artifact),
        )
