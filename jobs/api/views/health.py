"""`GET /api/health`: is the portal working? For monitors; no sign-in.

200 when the database answers and at least one worker is alive (it
heart-beat within JOB_PORTAL_WORKER_LOST_AFTER seconds and has not
stopped); 503 otherwise, with the reasons in "problems". The answer holds
what the issue lists and no more, since anyone may read it: each running
worker's name, host, last heartbeat and last cycle (never its pid), the
newest scheduling cycle, and the queued and running counts. A database
failure is logged and answered with a fixed message: its text can name
internal hosts.

No authentication (it would query the database) and no rate limit: a
monitor polling every few seconds must never see a 429, and a database
outage must give a 503, never a 500.
"""

from __future__ import annotations

import logging

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobportal import clock
from jobs import conf
from jobs.selectors import STATUS_OK, STATUS_UNHEALTHY, health_report

logger = logging.getLogger(__name__)


class DatabaseHealthSerializer(serializers.Serializer):
    """Whether the database answered."""

    ok = serializers.BooleanField()
    error = serializers.CharField(allow_null=True)


class WorkerHealthSerializer(serializers.Serializer):
    """A worker that has not stopped, and whether it still heart-beats."""

    name = serializers.CharField()
    host = serializers.CharField()
    last_heartbeat_at = serializers.DateTimeField()
    last_cycle_at = serializers.DateTimeField(allow_null=True)
    alive = serializers.BooleanField()


class RunCountsSerializer(serializers.Serializer):
    """How many runs wait and how many run, across all jobs."""

    queued = serializers.IntegerField()
    running = serializers.IntegerField()


@extend_schema_field({"type": "string", "enum": [STATUS_OK, STATUS_UNHEALTHY]})
class HealthStatusField(serializers.CharField):
    """ "ok" or "unhealthy" (an inline enum: "status" names other enums)."""


class HealthSerializer(serializers.Serializer):
    """The health report; "problems" is empty when "status" is "ok"."""

    status = HealthStatusField()
    problems = serializers.ListField(child=serializers.CharField())
    database = DatabaseHealthSerializer()
    workers = WorkerHealthSerializer(many=True)
    last_cycle_at = serializers.DateTimeField(
        allow_null=True, help_text="When a worker last finished a scheduling cycle."
    )
    runs = RunCountsSerializer(allow_null=True)


class HealthView(APIView):
    """Report the database, the workers and the run queue; 503 when unhealthy."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    # Not rate-limited: a monitor polling every few seconds must never see
    # a 429 (issue 14). The answer is a few indexed reads.
    throttle_classes = ()

    @extend_schema(
        summary="Health of the database and the workers",
        description="No authentication. 200 when the database answers and at "
        "least one worker heart-beat within JOB_PORTAL_WORKER_LOST_AFTER "
        'seconds; 503 otherwise, with the reasons in "problems".',
        auth=[],
        responses={
            200: OpenApiResponse(HealthSerializer, description="Healthy."),
            503: OpenApiResponse(
                HealthSerializer,
                description="Unhealthy: the database is down or no worker is alive.",
            ),
        },
    )
    def get(self, request: Request) -> Response:
        """Check now, with the lost-worker limit read at call time."""
        report = health_report(
            now=clock.now(),
            lost_after_seconds=conf.worker_lost_after_seconds(),
        )
        status = 200 if report["status"] == STATUS_OK else 503
        return Response(HealthSerializer(report).data, status=status)
