"""A job's pipeline: its dependency graph, and running it from that job.

- `GET /api/jobs/{id}/graph`: the job with every job upstream and downstream
  of it the user may see, as nodes (with the last run's status) and edges;
- `POST /api/jobs/{id}/run-pipeline`: queue a run of the job now; its
  downstream jobs follow as their dependencies are met.

The admin's pipeline view reads the same selector and calls the same
service, with the same permission (`jobs.permissions.can_run_pipeline`).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.client import request_ip
from jobportal import clock
from jobportal.api.ids import id_or_404, id_path_parameter
from jobportal.api.responses import READ_ERRORS, WRITE_ERRORS
from jobs import permissions as perms
from jobs.api.access import require
from jobs.models import Job, JobRun
from jobs.selectors import job_pipeline
from jobs.services.dependencies import job_run_pipeline

ACTION_RUN_PIPELINE = "run this job's pipeline"
JOB_ID = id_path_parameter(name="job_pk")


class GraphNodeSerializer(serializers.Serializer):
    """One job of the pipeline."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    active = serializers.BooleanField()
    dependency_mode = serializers.CharField()
    last_status = serializers.ChoiceField(
        choices=JobRun.Status.choices, allow_null=True
    )
    last_run_id = serializers.IntegerField(allow_null=True)


class GraphEdgeSerializer(serializers.Serializer):
    """`downstream` runs after `upstream`."""

    upstream = serializers.IntegerField(help_text="Id of the upstream job.")
    downstream = serializers.IntegerField(help_text="Id of the job that runs after.")
    window_hours = serializers.IntegerField(allow_null=True)


class GraphSerializer(serializers.Serializer):
    """A job's pipeline: the job first, then the others by name."""

    nodes = GraphNodeSerializer(many=True)
    edges = GraphEdgeSerializer(many=True)


class PipelineStartedSerializer(serializers.Serializer):
    """The run that started the pipeline."""

    id = serializers.IntegerField(help_text="The run's id.")
    job = serializers.IntegerField(help_text="The job's id.")
    status = serializers.ChoiceField(choices=JobRun.Status.choices)
    url = serializers.CharField(help_text="Where to follow the run (its log).")


def _visible_job(request: Request, job_pk: str) -> Job:
    return get_object_or_404(perms.jobs_visible_to(request.user), pk=id_or_404(job_pk))


class JobGraphView(APIView):
    """The job's upstream and downstream jobs, with their last status."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="The job's pipeline as nodes and edges",
        parameters=[JOB_ID],
        responses={200: GraphSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, job_pk: str) -> Response:
        """Answer the pipeline of a job the user may see."""
        job = _visible_job(request, job_pk)
        pipeline = job_pipeline(job=job, visible=perms.jobs_visible_to(request.user))
        nodes = [
            {
                "id": node.pk,
                "name": node.name,
                "active": node.is_active,
                "dependency_mode": node.dependency_mode,
                "last_status": getattr(node, "last_run_status", None),
                "last_run_id": getattr(node, "last_run_id", None),
            }
            for node in pipeline.jobs
        ]
        edges = [
            {
                "upstream": e.upstream,
                "downstream": e.downstream,
                "window_hours": e.window_hours,
            }
            for e in pipeline.edges
        ]
        return Response(GraphSerializer({"nodes": nodes, "edges": edges}).data)


class JobRunPipelineView(APIView):
    """Run the job now; its downstream jobs follow."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="Run the pipeline from this job",
        parameters=[JOB_ID],
        request=None,
        responses={202: PipelineStartedSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request, job_pk: str) -> Response:
        """Queue a run of a job the user may run."""
        job = _visible_job(request, job_pk)
        require(perms.can_run_pipeline(request.user, job), ACTION_RUN_PIPELINE)
        run = job_run_pipeline(
            job=job,
            requested_by=request.user,
            now=clock.now(),
            trigger=JobRun.Trigger.API,
            ip=request_ip(request._request),
        )
        url = reverse("api:log-detail", args=[run.pk])
        body = PipelineStartedSerializer(
            {"id": run.pk, "job": job.pk, "status": run.status, "url": url}
        )
        return Response(
            body.data, status=status.HTTP_202_ACCEPTED, headers={"Location": url}
        )
