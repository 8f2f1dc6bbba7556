"""`GET /api/audit` and `GET /api/audit/{id}`: the audit log, read-only.

With the admin's right to read it (`accounts.permissions.can_view_audit_log`,
the Admin role); newest first, paginated; filters `action`, `actor` (a user
name), `target_type` ("jobs.job"), `target_id`, `after` and `before`
(ISO 8601 instants). Each event carries its hash and the previous one, so
a client can check the chain as `manage.py verify_audit` does.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import AuditEvent
from accounts.permissions import can_view_audit_log
from jobportal.api.filters import InstantFilter
from jobportal.api.ids import ObjectByIdMixin, id_path_parameter
from jobportal.api.responses import LIST_ERRORS, READ_ERRORS


class MayReadAudit(BasePermission):
    """The admin's right to read the audit log."""

    def has_permission(self, request: Request, view: Any) -> bool:
        """Return True for users who may open the admin's audit list."""
        return can_view_audit_log(request.user)


class AuditEventSerializer(serializers.ModelSerializer):
    """One audited action (secrets were hidden when it was recorded)."""

    actor = serializers.CharField(source="actor_repr")
    target = serializers.CharField(source="target_repr")

    class Meta:
        model = AuditEvent
        fields = (
            "id",
            "at",
            "actor",
            "action",
            "target_type",
            "target_id",
            "target",
            "changes",
            "ip",
            "prev_hash",
            "hash",
        )


class AuditFilter(django_filters.FilterSet):
    """Filters of the audit list."""

    action = django_filters.CharFilter()
    actor = django_filters.CharFilter(field_name="actor_repr")
    target_type = django_filters.CharFilter()
    target_id = django_filters.CharFilter()
    after = InstantFilter(field_name="at", lookup_expr="gte")
    before = InstantFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ("action", "actor", "target_type", "target_id", "after", "before")


@extend_schema_view(
    list=extend_schema(
        summary="List audit events, newest first",
        responses={200: AuditEventSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One audit event",
        parameters=[id_path_parameter()],
        responses={200: AuditEventSerializer, **READ_ERRORS},
    ),
)
class AuditEventViewSet(
    ObjectByIdMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The audit log: read-only."""

    permission_classes = (MayReadAudit,)
    serializer_class = AuditEventSerializer
    filterset_class = AuditFilter

    def get_queryset(self) -> QuerySet[AuditEvent]:
        """Return every event, newest first."""
        return AuditEvent.objects.order_by("-pk")
