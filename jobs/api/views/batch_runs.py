"""`POST /api/runs`: queue many runs in one transaction, with one audit event.

The body is `{"runs": [{"job": id, "parameters": {...}, "not_before": "..."}]}`
(a bare list of items is read the same way). Each item gets the checks of
`POST /api/jobs/{id}/run`: a job the user may not see is unknown, one they
may not run is a 403 naming the item, parameters are checked against the
job's declarations. Any bad item answers 400 as
`{"runs": {"<index>": {"<field>": [...]}}}` and nothing is queued.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.client import request_ip
from jobportal import clock
from jobportal.api.ids import IdField
from jobportal.api.responses import WRITE_ERRORS
from jobportal.api.serializers import StrictSerializer, storable_json
from jobs import permissions as perms
from jobs.api.access import MSG_FORBIDDEN
from jobs.api.views.schedules import InstantField, IsActiveUser
from jobs.services.batch_runs import (
    MAX_BATCH_RUNS,
    BatchItemError,
    BatchRun,
    runs_queue_batch,
)
from jobs.services.parameters import parameters_validate

ACTION_RUN_ITEM = "run the job of item {index}"
MSG_NO_JOB = "No job with id {value}."


class BatchItemSerializer(StrictSerializer):
    """One run asked for."""

    job = IdField(help_text="The job's id.")
    parameters = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        allow_null=True,
        help_text="Values of the job's declared parameters by name.",
    )
    not_before = InstantField(
        required=False,
        allow_null=True,
        help_text="Do not start before this instant (with its UTC offset); "
        "default now.",
    )

    def validate_parameters(self, value: Any) -> Any:
        """Refuse text that cannot be stored with the run."""
        return storable_json(value)


class BatchInputSerializer(StrictSerializer):
    """The body of POST /api/runs."""

    runs = serializers.ListField(
        child=BatchItemSerializer(),
        min_length=1,
        max_length=MAX_BATCH_RUNS,
        help_text=f"The runs to queue, 1 to {MAX_BATCH_RUNS}.",
    )


class BatchQueuedSerializer(serializers.Serializer):
    """One queued run, in item order."""

    id = serializers.IntegerField(help_text="The run's id.")
    job = serializers.IntegerField(help_text="The job's id.")
    not_before = serializers.DateTimeField()
    parameters = serializers.DictField(child=serializers.JSONField())
    url = serializers.CharField(help_text="Where to follow the run (its log).")


class BatchRunsView(APIView):
    """Queue many runs at once, all or none."""

    permission_classes = (IsActiveUser,)

    @extend_schema(
        summary="Queue many runs in one transaction",
        request=BatchInputSerializer,
        responses={201: BatchQueuedSerializer(many=True), **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        """Check every item as "run now" does, then queue them all at once."""
        data = request.data
        body = BatchInputSerializer(
            data={"runs": data} if isinstance(data, list) else data
        )
        body.is_valid(raise_exception=True)
        items = _items(request, body.validated_data["runs"])
        try:
            runs = runs_queue_batch(
                items=items,
                requested_by=request.user,
                now=clock.now(),
                ip=request_ip(request._request),
            )
        except BatchItemError as exc:
            raise serializers.ValidationError(
                {"runs": {str(exc.index): {exc.field: [exc.message]}}}
            ) from None
        answer = [
            {
                "id": run.pk,
                "job": run.job_id,
                "not_before": run.not_before,
                "parameters": run.parameters,
                "url": reverse("api:log-detail", args=[run.pk]),
            }
            for run in runs
        ]
        return Response(
            BatchQueuedSerializer(answer, many=True).data,
            status=status.HTTP_201_CREATED,
        )


def _items(request: Request, raw: list[dict[str, Any]]) -> list[BatchRun]:
    """Return the checked runs, or raise naming every bad item."""
    ids = {item["job"] for item in raw}
    jobs = {
        job.pk: job
        for job in perms.jobs_visible_to(request.user)
        .filter(pk__in=ids)
        .prefetch_related("parameters")
    }
    may_run: dict[int, bool] = {}
    errors: dict[str, Any] = {}
    items = []
    for index, item in enumerate(raw):
        job = jobs.get(item["job"])
        if job is None:
            errors[str(index)] = {"job": [MSG_NO_JOB.format(value=item["job"])]}
            continue
        if job.pk not in may_run:
            may_run[job.pk] = perms.can_run_job(request.user, job)
        if not may_run[job.pk]:
            action = ACTION_RUN_ITEM.format(index=index)
            raise PermissionDenied(MSG_FORBIDDEN.format(action=action))
        try:
            parameters = parameters_validate(job=job, values=item.get("parameters"))
        except DjangoValidationError as exc:
            errors[str(index)] = {"parameters": exc.message_dict}
            continue
        items.append(BatchRun(job, parameters, item.get("not_before")))
    if errors:
        raise serializers.ValidationError({"runs": errors})
    return items
