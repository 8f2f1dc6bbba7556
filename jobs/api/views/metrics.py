"""`GET /api/metrics`: run figures from the rollups, as the dashboard reads them.

Query: `job` (an id; repeat it for several), `from` and `to` (ISO 8601
instants with an offset; default the last 24 hours). Figures count the
runs that ended from `from`'s whole UTC hour up to `to` (rollups are
hourly). A user sees the figures of the jobs they may see (as in the
admin's dashboard); naming a job they may not see is a 400 on `job`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobportal import clock
from jobportal.api.responses import BAD_FILTER, NOT_SIGNED_IN
from jobs import conf
from jobs.api.views.schedules import InstantField, IsActiveUser
from jobs.models import Job
from jobs.permissions import jobs_visible_to, metrics_job_scope
from jobs.selectors_metrics import metrics_report

DEFAULT_HOURS = 24
MAX_DAYS = 400
PARAMETERS = ("job", "from", "to", "format")
MSG_UNKNOWN = "Unknown parameter; use job, from or to."
MSG_JOB = "No job with id {value} that you may see."
MSG_ORDER = "Must be after 'from'."
MSG_SPAN = f"The range may span {MAX_DAYS} days at most."


class MetricsQuerySerializer(serializers.Serializer):
    """The query: jobs and a time range."""

    job = serializers.ListField(
        child=serializers.IntegerField(min_value=1), default=list
    )
    to = InstantField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        """Add "from", a Python keyword, as a field name."""
        fields = super().get_fields()
        fields["from"] = InstantField(required=False)
        return fields


class MetricsView(APIView):
    """Success, failures, durations, lateness, queue and workers."""

    permission_classes = (IsActiveUser,)

    @extend_schema(
        summary="Run metrics for a time range",
        parameters=[
            OpenApiParameter(
                "job",
                OpenApiTypes.INT,
                many=True,
                description="Job id; repeat for several.",
            ),
            OpenApiParameter(
                "from",
                OpenApiTypes.DATETIME,
                description="Start (ISO 8601 with offset); default 24 hours ago.",
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.DATETIME,
                description="End (ISO 8601 with offset); default now.",
            ),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The figures."),
            400: BAD_FILTER,
            401: NOT_SIGNED_IN,
        },
    )
    def get(self, request: Request) -> Response:
        """Parse the query, scope it to the user's jobs, answer the figures."""
        now = clock.now()
        query = self._query(request)
        until = query.get("to") or now
        since = query.get("from") or until - timedelta(hours=DEFAULT_HOURS)
        if until <= since:
            raise ValidationError({"to": [MSG_ORDER]})
        if until - since > timedelta(days=MAX_DAYS):
            raise ValidationError({"from": [MSG_SPAN]})
        jobs = metrics_job_scope(request.user)
        if query["job"]:
            jobs = self._chosen(request, query["job"])
        report = metrics_report(
            jobs=jobs,
            since=since,
            until=until,
            now=now,
            lost_after_seconds=conf.worker_lost_after_seconds(),
        )
        report["jobs"] = query["job"] or None
        return Response(report)

    def _query(self, request: Request) -> dict[str, Any]:
        params = request.query_params
        unknown = {name: [MSG_UNKNOWN] for name in params if name not in PARAMETERS}
        if unknown:
            raise ValidationError(unknown)
        data: dict[str, Any] = {"job": [v for v in params.getlist("job") if v]}
        for name in ("from", "to"):
            if params.get(name):
                data[name] = params[name]
        form = MetricsQuerySerializer(data=data)
        form.is_valid(raise_exception=True)
        return dict(form.validated_data)

    def _chosen(self, request: Request, ids: list[int]) -> Any:
        visible = set(
            jobs_visible_to(request.user)
            .filter(pk__in=ids)
            .values_list("pk", flat=True)
        )
        missing = [pk for pk in ids if pk not in visible]
        if missing:
            raise ValidationError({"job": [MSG_JOB.format(value=pk) for pk in missing]})
        return Job.objects.filter(pk__in=ids)
