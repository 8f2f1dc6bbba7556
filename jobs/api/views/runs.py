"""Execution logs (runs): lists, a run's detail with its output, and control.

- `GET /api/jobs/{job_pk}/logs`: one visible job's runs, newest first;
- `GET /api/logs`: every run the user may see (`runs_visible_to`);
- `GET /api/logs/{id}`: one run with its stored output (secret values were
  masked before it was stored; a large output keeps its head and tail);
- `POST /api/logs/{id}/cancel` and `/mark-failed`: the admin's two run
  actions, with the same services, rights and messages.

A run or job the user may not see is a 404, as in the admin; refusing a
right on a visible run is a 403 (`jobs.api.access.require`). Lists leave
the output out: it can be large.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from jobportal import clock
from jobportal.api.ids import id_or_404, id_path_parameter
from jobportal.api.responses import ERROR_DETAIL, LIST_ERRORS, READ_ERRORS
from jobs import permissions as perms
from jobs.api.access import require
from jobs.api.filters_runs import JobRunFilter, RunFilter
from jobs.models import Job, JobRun, Worker
from jobs.services.runs import run_mark_failed, run_request_cancel

ACTION_CANCEL = "cancel this run"
ACTION_MARK_FAILED = "mark this run failed"
NEWEST_FIRST = ("-scheduled_for", "-attempt", "-pk")

RUN_ID = id_path_parameter()
JOB_ID = id_path_parameter("job_pk")


class RunLogJobSerializer(serializers.ModelSerializer):
    """The job a run belongs to: its id and name."""

    class Meta:
        model = Job
        fields = ("id", "name")
        read_only_fields = fields


class RunLogSerializer(serializers.ModelSerializer):
    """A run in a list: what ran, when, for how long, and how it ended."""

    job = RunLogJobSerializer(read_only=True)
    duration_seconds = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="Seconds from start to finish; null until both are known.",
    )
    lateness_seconds = serializers.SerializerMethodField(
        help_text="Seconds from when the run could start (its slot, or the "
        "end of a retry delay) to when it started; null until it starts."
    )
    worker: serializers.SlugRelatedField[Worker] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True
    )
    triggered_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = JobRun
        fields = (
            "id",
            "job",
            "status",
            "trigger",
            "attempt",
            "scheduled_for",
            "started_at",
            "finished_at",
            "duration_seconds",
            "exit_code",
            "lateness_seconds",
            "worker",
            "triggered_by",
            "reason",
        )
        read_only_fields = fields

    def get_lateness_seconds(self, run: JobRun) -> float | None:
        """Return how late the run started, in seconds."""
        if run.started_at is None:
            return None
        return (run.started_at - run.not_before).total_seconds()


class RunLogDetailSerializer(RunLogSerializer):
    """A run with everything the admin shows, its output included."""

    cancel_requested_by: serializers.SlugRelatedField[User] = (
        serializers.SlugRelatedField(
            slug_field="username", read_only=True, allow_null=True
        )
    )

    class Meta:
        model = JobRun
        fields = (
            *RunLogSerializer.Meta.fields,
            "queued_at",
            "not_before",
            "missed_slots",
            "parameters",
            "cancel_requested_at",
            "cancel_requested_by",
            "output",
            "output_dropped_bytes",
        )
        read_only_fields = fields


def runs_listed(queryset: QuerySet[JobRun]) -> QuerySet[JobRun]:
    """Return `queryset` newest first, with what a list row shows, no output."""
    return (
        queryset.select_related("job", "worker", "triggered_by")
        .defer("output")
        .order_by(*NEWEST_FIRST)
    )


def run_visible_or_404(user: Any, pk: Any) -> JobRun:
    """Return the run `pk` if `user` may see it, else raise Http404."""
    return get_object_or_404(
        perms.runs_visible_to(user).select_related(
            "job", "worker", "triggered_by", "cancel_requested_by"
        ),
        pk=id_or_404(pk),
    )


def control_schema(*, summary: str, description: str, refused: str) -> Any:
    """Return the schema of a run action: no body, the run back, or a 400."""
    return extend_schema(
        summary=summary,
        description=description,
        parameters=[RUN_ID],
        request=None,
        responses={
            200: RunLogDetailSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description=f'{refused}: {{"non_field_errors": ["<message>"]}}.',
            ),
            **READ_ERRORS,
        },
    )


@extend_schema_view(
    list=extend_schema(
        summary="List the runs the user may see",
        description="Every run the user may see, newest first, without output. "
        "Filters: status (repeat for several), after/before (ISO 8601, on the "
        "slot `scheduled_for`), job (id).",
        responses={200: RunLogSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Show a run with its output",
        description="The run with its stored output (secret values masked; a "
        "large output keeps its head and tail and `output_dropped_bytes` "
        "says how much was dropped).",
        parameters=[RUN_ID],
        responses={200: RunLogDetailSerializer, **READ_ERRORS},
    ),
)
class RunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Every run the user may see, one run's detail, and run control."""

    permission_classes = (IsAuthenticated,)
    filterset_class = RunFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[JobRun]:
        """Return the user's visible runs, newest first."""
        return runs_listed(perms.runs_visible_to(self.request.user))

    def get_serializer_class(self) -> type[serializers.Serializer]:
        """Return the list row for lists, the full run otherwise."""
        if self.action == "list":
            return RunLogSerializer
        return RunLogDetailSerializer

    def get_object(self) -> JobRun:
        """Return the visible run named in the URL (list filters do not apply)."""
        return run_visible_or_404(self.request.user, self.kwargs["pk"])

    @control_schema(
        summary="Cancel a queued run, or ask a running one to stop",
        description="Needs the right to run the job. A queued run is cancelled "
        "at once; a running one is stopped by its worker within a second "
        "(`cancel_requested_at` is set). A finished run is a 400.",
        refused="The run has already finished",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel the run, as the admin's "Cancel selected runs" action does."""
        return self._control(request, run_request_cancel, ACTION_CANCEL)

    @control_schema(
        summary="Mark a running run failed (its worker is dead)",
        description="Needs the right to run the job. No retry follows. A run "
        "that is not running is a 400.",
        refused="The run is not running",
    )
    @action(detail=True, methods=["post"], url_path="mark-failed")
    def mark_failed(self, request: Request, pk: str | None = None) -> Response:
        """Mark the run failed, as the admin's "Mark ... failed" action does."""
        return self._control(request, run_mark_failed, ACTION_MARK_FAILED)

    def _control(
        self, request: Request, service: Callable[..., JobRun], action: str
    ) -> Response:
        """Apply a run action's service, with the right to cancel runs."""
        run = self.get_object()
        require(perms.can_cancel_run(request.user, run), action)
        service(run=run, requested_by=request.user, now=clock.now())
        return Response(self.get_serializer(self.get_object()).data)


@extend_schema(
    summary="List one job's runs",
    description="The job's runs, newest first, without output; 404 unless the "
    "user may see the job. Filters: status (repeat for several), after/before "
    "(ISO 8601, on the slot `scheduled_for`).",
    parameters=[JOB_ID],
    responses={
        200: RunLogSerializer(many=True),
        **LIST_ERRORS,
        404: OpenApiResponse(
            ERROR_DETAIL,
            description="No such job (or one the user may not see), or no such page.",
        ),
    },
)
class JobLogsView(generics.ListAPIView):
    """The runs of one job the user may see, newest first."""

    permission_classes = (IsAuthenticated,)
    serializer_class = RunLogSerializer
    filterset_class = JobRunFilter

    def get_queryset(self) -> QuerySet[JobRun]:
        """Return the job's runs; 404 unless the user may see the job."""
        if getattr(self, "swagger_fake_view", False):
            return JobRun.objects.none()
        job = get_object_or_404(
            perms.jobs_visible_to(self.request.user),
            pk=id_or_404(self.kwargs["job_pk"]),
        )
        return runs_listed(JobRun.objects.filter(job=job))
