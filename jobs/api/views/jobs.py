"""Jobs: list, create, read, change, delete, run now, activate, deactivate.

- `GET /api/jobs`: the jobs the user may see (`jobs_visible_to`), filtered
  (`jobs.api.filters.JobFilter`), ordered and paginated;
- `POST /api/jobs`: create a job from a job document (what `importjobs`
  reads for one job); its creator owns it, as in the admin;
- `GET`, `PUT` (whole document), `PATCH` (some keys), `DELETE`
  `/api/jobs/{id}`;
- `POST /api/jobs/{id}/run`: queue a run now, with validated parameters;
- `PATCH /api/jobs/{id}/activate` and `/deactivate`.

Every write goes through the job services with the user as actor, so
versions and audit events are recorded exactly as for the admin. A job the
user may not see is a 404; a refused right on a visible job is a 403.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.client import request_ip
from jobportal import clock
from jobportal.api.ids import id_or_404, id_path_parameter
from jobportal.api.responses import (
    FIELD_ERRORS,
    FORBIDDEN,
    LIST_ERRORS,
    NOT_SIGNED_IN,
    READ_ERRORS,
    UNSUPPORTED,
    WRITE_ERRORS,
)
from jobportal.api.serializers import StrictSerializer, storable_json
from jobs import permissions as perms
from jobs.api.access import MSG_FORBIDDEN, require
from jobs.api.filters import JobFilter
from jobs.api.serializers import JobSerializer
from jobs.documents import (
    BLACKOUTS_KEY,
    DEPENDENCIES_KEY,
    PARAMETERS_KEY,
    SECRETS_KEY,
    document_path,
)
from jobs.models import Job, JobRun
from jobs.selectors import jobs_with_last_run
from jobs.services.jobs import (
    JobOwnerPermissionError,
    job_delete,
    job_save,
    job_set_active,
)
from jobs.services.parameters import parameters_validate
from jobs.services.runs import job_run_now

ACTION_CREATE = "create jobs"
ACTION_CHANGE = "change this job"
ACTION_CHANGE_OWNER = "change the owner of this job"
ACTION_DELETE = "delete this job"
ACTION_RUN = "run this job"
ACTION_ACTIVATE = "activate or deactivate this job"

JOB_ID = id_path_parameter()


class RunInputSerializer(StrictSerializer):
    """The body of POST /api/jobs/{id}/run (it may be left out)."""

    parameters = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        allow_null=True,
        help_text="Values of the job's declared parameters by name; a "
        "parameter left out takes its default.",
    )

    def validate_parameters(self, value: Any) -> Any:
        """Refuse text that cannot be stored with the run."""
        return storable_json(value)


class RunQueuedSerializer(serializers.Serializer):
    """The run that POST /api/jobs/{id}/run queued."""

    id = serializers.IntegerField(help_text="The run's id.")
    job = serializers.IntegerField(help_text="The job's id.")
    status = serializers.ChoiceField(choices=JobRun.Status.choices)
    parameters = serializers.DictField(
        child=serializers.JSONField(), help_text="The validated parameters."
    )
    url = serializers.CharField(help_text="Where to follow the run (its log).")


class NoBodySerializer(StrictSerializer):
    """No fields: a body, if sent, must be an empty object."""


@extend_schema_view(
    list=extend_schema(
        summary="List the jobs the user may see",
        responses={200: JobSerializer(many=True), **LIST_ERRORS},
    ),
    create=extend_schema(
        summary="Create a job from a job document",
        responses={
            201: JobSerializer,
            400: FIELD_ERRORS,
            401: NOT_SIGNED_IN,
            403: FORBIDDEN,
            415: UNSUPPORTED,
        },
    ),
    retrieve=extend_schema(
        summary="Show a job",
        parameters=[JOB_ID],
        responses={200: JobSerializer, **READ_ERRORS},
    ),
    update=extend_schema(
        summary="Replace a job's document (keys left out take their defaults)",
        parameters=[JOB_ID],
        responses={200: JobSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some keys of a job's document",
        parameters=[JOB_ID],
        responses={200: JobSerializer, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete a job with its schedules, runs and versions",
        parameters=[JOB_ID],
        responses={204: None, **READ_ERRORS},
    ),
)
class JobViewSet(viewsets.GenericViewSet):
    """Jobs, with the admin's rights, services, audit and messages."""

    serializer_class = JobSerializer
    permission_classes = (IsAuthenticated,)
    filterset_class = JobFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[Job]:
        """Return the user's visible jobs with what a job shows, by name."""
        return jobs_shown(perms.jobs_visible_to(self.request.user))

    def get_object(self) -> Job:
        """Return the visible job named in the URL (list filters do not apply)."""
        return self._shown(self.kwargs["pk"])

    def list(self, request: Request) -> Response:
        """List the visible jobs, filtered, ordered and paginated."""
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def retrieve(self, request: Request, pk: str) -> Response:
        """Show one visible job."""
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        """Create a job from a document; the user owns it (as in the admin)."""
        require(perms.can_add_job(request.user), ACTION_CREATE)
        # `serializer_class`; the stubs only know it as a BaseSerializer.
        serializer = cast(JobSerializer, self.get_serializer(data=request.data))
        serializer.is_valid(raise_exception=True)
        job = Job(**serializer.model_values())
        self._set_owner(job, serializer.validated_data)
        job = self._save(job, serializer.validated_data)
        return Response(
            self.get_serializer(self._shown(job.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def update(self, request: Request, pk: str) -> Response:
        """Replace the job's document: keys left out take their defaults."""
        return self._change(request, pk, partial=False)

    def partial_update(self, request: Request, pk: str) -> Response:
        """Change the keys given; the others (schedules too) stay."""
        return self._change(request, pk, partial=True)

    def destroy(self, request: Request, pk: str) -> Response:
        """Delete the job through the service (rights cleared, audited)."""
        job = self._visible(pk)
        require(perms.can_delete_job(request.user, job), ACTION_DELETE)
        job_delete(job=job, now=clock.now(), actor=request.user, ip=_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Queue a run of the job now",
        parameters=[JOB_ID],
        request=RunInputSerializer,
        responses={202: RunQueuedSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str) -> Response:
        """Queue a run now, with the job's parameters checked as the admin does."""
        job = self._visible(pk)
        require(perms.can_run_job(request.user, job), ACTION_RUN)
        body = RunInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            parameters = parameters_validate(
                job=job, values=body.validated_data.get("parameters")
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                {"parameters": exc.message_dict}
            ) from None
        run = job_run_now(
            job=job,
            requested_by=request.user,
            now=clock.now(),
            parameters=parameters,
            trigger=JobRun.Trigger.API,
            ip=_ip(request),
        )
        url = reverse("api:log-detail", args=[run.pk])
        queued = RunQueuedSerializer(
            {
                "id": run.pk,
                "job": job.pk,
                "status": run.status,
                "parameters": run.parameters,
                "url": url,
            }
        )
        return Response(
            queued.data, status=status.HTTP_202_ACCEPTED, headers={"Location": url}
        )

    @extend_schema(
        summary="Activate the job (it runs on its schedules again)",
        parameters=[JOB_ID],
        request=None,
        responses={200: JobSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["patch"])
    def activate(self, request: Request, pk: str) -> Response:
        """Activate the job and recompute its next run."""
        return self._set_active(request, pk, is_active=True)

    @extend_schema(
        summary="Deactivate the job (it keeps its schedules but does not run)",
        parameters=[JOB_ID],
        request=None,
        responses={200: JobSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["patch"])
    def deactivate(self, request: Request, pk: str) -> Response:
        """Deactivate the job; it has no next run until activated."""
        return self._set_active(request, pk, is_active=False)

    # --- helpers ------------------------------------------------------------

    def _visible(self, pk: str) -> Job:
        """Return the job `pk` if the user may see it (for writes), else 404."""
        return get_object_or_404(
            perms.jobs_visible_to(self.request.user), pk=id_or_404(pk)
        )

    def _shown(self, pk: str | int) -> Job:
        """Return the visible job `pk` with what the API shows of it."""
        return get_object_or_404(self.get_queryset(), pk=id_or_404(pk))

    def _change(self, request: Request, pk: str, *, partial: bool) -> Response:
        """Validate a whole or partial document and save it on the job."""
        job = self._visible(pk)
        require(perms.can_change_job(request.user, job), ACTION_CHANGE)
        serializer = cast(
            JobSerializer,
            self.get_serializer(job, data=request.data, partial=partial),
        )
        serializer.is_valid(raise_exception=True)
        for name, value in serializer.model_values().items():
            setattr(job, name, value)
        self._set_owner(job, serializer.validated_data)
        job = self._save(job, serializer.validated_data, partial=partial)
        return Response(self.get_serializer(self._shown(job.pk)).data)

    def _set_owner(self, job: Job, validated: dict[str, Any]) -> None:
        """Set the owner the body names; `job_save` decides who may change it.

        A new job left without an owner is owned by its creator (`job_save`).
        """
        if "owner" in validated:
            job.owner = validated["owner"]

    def _save(
        self, job: Job, validated: dict[str, Any], *, partial: bool = False
    ) -> Job:
        """Save through `job_save`; a document left without secrets has none.

        Likewise a whole document without parameters declares none, and one
        without dependencies depends on nothing.
        """
        schedules = validated.get("schedules")
        secrets = validated.get(SECRETS_KEY)
        parameters = validated.get(PARAMETERS_KEY)
        blackouts = validated.get(BLACKOUTS_KEY)
        dependencies = validated.get(DEPENDENCIES_KEY)
        if not partial:
            secrets = [] if secrets is None else secrets
            parameters = [] if parameters is None else parameters
            blackouts = [] if blackouts is None else blackouts
            dependencies = [] if dependencies is None else dependencies
        try:
            return job_save(
                job=job,
                schedules=schedules,
                now=clock.now(),
                actor=self.request.user,
                ip=_ip(self.request),
                secrets=secrets,
                parameters=parameters,
                blackouts=blackouts,
                dependencies=dependencies,
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(_document_errors(exc)) from None
        except JobOwnerPermissionError:
            # The service's refusal, in the words of the API's other 403s.
            raise PermissionDenied(
                MSG_FORBIDDEN.format(action=ACTION_CHANGE_OWNER)
            ) from None

    def _set_active(self, request: Request, pk: str, *, is_active: bool) -> Response:
        """Activate or deactivate the job through the service."""
        job = self._visible(pk)
        require(perms.can_activate_job(request.user, job), ACTION_ACTIVATE)
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
        job_set_active(
            job=job,
            is_active=is_active,
            now=clock.now(),
            actor=request.user,
            ip=_ip(request),
        )
        return Response(self.get_serializer(self._shown(job.pk)).data)


def jobs_shown(queryset: QuerySet[Job]) -> QuerySet[Job]:
    """Return `queryset` with what a job shows loaded: no query per job."""
    return (
        jobs_with_last_run(queryset)
        .select_related("owner")
        .prefetch_related(
            "secrets", "parameters", "blackout_calendars", "dependencies__depends_on"
        )
        .order_by("name", "pk")
    )


def _ip(request: Request) -> str | None:
    """Return the client's address for the audit log."""
    return request_ip(request._request)


def _document_errors(exc: DjangoValidationError) -> Any:
    """Return a service's ValidationError keyed by document paths."""
    if hasattr(exc, "error_dict"):
        return {document_path(key): value for key, value in exc.message_dict.items()}
    return {"non_field_errors": exc.messages}
