"""`GET /api/workers`: the worker processes, as the admin's Workers page lists them.

Read-only, with the admin's right (`jobs.permissions.can_view_workers`);
newest heartbeat first, paginated. "alive" is a heartbeat within
JOB_PORTAL_WORKER_LOST_AFTER seconds of a worker that has not stopped.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from jobportal import clock
from jobportal.api.responses import LIST_ERRORS
from jobs import conf
from jobs import permissions as perms
from jobs.models import Worker


class MayViewWorkers(BasePermission):
    """The admin's right to see workers."""

    def has_permission(self, request: Request, view: Any) -> bool:
        """Return True for users who may open the admin's Workers page."""
        return perms.can_view_workers(request.user)


class WorkerSerializer(serializers.ModelSerializer):
    """One worker process and whether it still heart-beats."""

    alive = serializers.SerializerMethodField()

    class Meta:
        model = Worker
        fields = (
            "id",
            "name",
            "host",
            "pid",
            "started_at",
            "last_heartbeat_at",
            "last_cycle_at",
            "stopped_at",
            "alive",
        )

    def get_alive(self, worker: Worker) -> bool:
        """Return True if the worker has not stopped and beat recently."""
        cutoff: Any = self.context["alive_after"]
        return worker.stopped_at is None and worker.last_heartbeat_at >= cutoff


@extend_schema_view(
    get=extend_schema(
        summary="List the workers",
        responses={200: WorkerSerializer(many=True), **LIST_ERRORS},
    )
)
class WorkerListView(generics.ListAPIView):
    """Workers, newest heartbeat first."""

    permission_classes = (MayViewWorkers,)
    serializer_class = WorkerSerializer
    filter_backends = ()

    def get_queryset(self) -> QuerySet[Worker]:
        """Return every worker, newest heartbeat first."""
        return Worker.objects.order_by("-last_heartbeat_at", "name")

    def get_serializer_context(self) -> dict[str, Any]:
        """Add the instant a live worker's heartbeat must be after."""
        lost_after = timedelta(seconds=conf.worker_lost_after_seconds())
        return {
            **super().get_serializer_context(),
            "alive_after": clock.now() - lost_after,
        }
