"""The notifications API: channels, rules, deliveries, test and resume.

The same rights as the admin (`notifications.permissions`) and the same
services (encryption, validation, audit).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.client import request_ip
from jobportal import clock
from jobportal.api.ids import IdFilter, ObjectByIdMixin, id_or_404, id_path_parameter
from jobportal.api.responses import LIST_ERRORS, READ_ERRORS, WRITE_ERRORS
from jobs.api.access import require
from jobs.permissions import jobs_visible_to
from notifications import permissions
from notifications.api.serializers import (
    ChannelSerializer,
    DeliverySerializer,
    RuleSerializer,
)
from notifications.models import Channel, Notification, Rule
from notifications.services.channels import channel_delete, channel_save
from notifications.services.circuit import job_circuit_resume
from notifications.services.delivery import notification_test_queue
from notifications.services.rules import rule_delete, rule_save

ID_PARAMETER = id_path_parameter()


class QueuedSerializer(serializers.Serializer):
    """The id of a queued test notification."""

    id = serializers.IntegerField()


class ResumedSerializer(serializers.Serializer):
    """The resumed job."""

    id = serializers.IntegerField()
    is_active = serializers.BooleanField()


@extend_schema_view(
    list=extend_schema(responses={200: ChannelSerializer, **LIST_ERRORS}),
    retrieve=extend_schema(
        parameters=[ID_PARAMETER], responses={200: ChannelSerializer, **READ_ERRORS}
    ),
    create=extend_schema(responses={201: ChannelSerializer, **WRITE_ERRORS}),
    update=extend_schema(
        parameters=[ID_PARAMETER], responses={200: ChannelSerializer, **WRITE_ERRORS}
    ),
    partial_update=extend_schema(
        parameters=[ID_PARAMETER], responses={200: ChannelSerializer, **WRITE_ERRORS}
    ),
    destroy=extend_schema(
        parameters=[ID_PARAMETER], responses={204: None, **READ_ERRORS}
    ),
)
class ChannelViewSet(ObjectByIdMixin, viewsets.ModelViewSet):
    """Channels: seen by every role, managed by the Admin role."""

    serializer_class = ChannelSerializer
    permission_classes = (IsAuthenticated,)
    http_method_names = ("get", "post", "put", "patch", "delete")

    def get_queryset(self) -> QuerySet[Channel]:
        """Every channel, for those who may see channels (every role)."""
        if not permissions.can_view_channels(self.request.user):
            return Channel.objects.none()
        return Channel.objects.order_by("name")

    def perform_create(self, serializer: Any) -> None:
        """Save through the service."""
        self._save(serializer, Channel())

    def perform_update(self, serializer: Any) -> None:
        """Save through the service."""
        self._save(serializer, serializer.instance)

    def _save(self, serializer: Any, channel: Channel) -> None:
        require(permissions.can_manage_channels(self.request.user), "manage channels")
        data = dict(serializer.validated_data)
        secrets = data.pop("secrets", None)
        for name, value in data.items():
            setattr(channel, name, value)
        serializer.instance = channel_save(
            channel=channel,
            secrets=secrets,
            actor=self.request.user,
            now=clock.now(),
            ip=request_ip(self.request),
        )

    def perform_destroy(self, instance: Channel) -> None:
        """Delete through the service (audited)."""
        require(permissions.can_manage_channels(self.request.user), "manage channels")
        channel_delete(
            channel=instance,
            actor=self.request.user,
            now=clock.now(),
            ip=request_ip(self.request),
        )

    @extend_schema(
        request=None,
        parameters=[ID_PARAMETER],
        responses={202: QueuedSerializer, **READ_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="test")
    def send_test(self, request: Request, pk: str | None = None) -> Response:
        """Queue a test notification on the channel; the worker sends it."""
        channel = self.get_object()
        require(permissions.can_manage_channels(request.user), "manage channels")
        row = notification_test_queue(channel=channel, now=clock.now())
        return Response({"id": row.pk}, status=202)


@extend_schema_view(
    list=extend_schema(responses={200: RuleSerializer, **LIST_ERRORS}),
    retrieve=extend_schema(
        parameters=[ID_PARAMETER], responses={200: RuleSerializer, **READ_ERRORS}
    ),
    create=extend_schema(responses={201: RuleSerializer, **WRITE_ERRORS}),
    update=extend_schema(
        parameters=[ID_PARAMETER], responses={200: RuleSerializer, **WRITE_ERRORS}
    ),
    partial_update=extend_schema(
        parameters=[ID_PARAMETER], responses={200: RuleSerializer, **WRITE_ERRORS}
    ),
    destroy=extend_schema(
        parameters=[ID_PARAMETER], responses={204: None, **READ_ERRORS}
    ),
)
class RuleViewSet(ObjectByIdMixin, viewsets.ModelViewSet):
    """Rules of the jobs you may see; set them on jobs you may change."""

    serializer_class = RuleSerializer
    permission_classes = (IsAuthenticated,)
    http_method_names = ("get", "post", "put", "patch", "delete")

    def get_queryset(self) -> QuerySet[Rule]:
        """Rules of visible jobs and the global ones."""
        return permissions.rules_visible_to(self.request.user).order_by("pk")

    def perform_create(self, serializer: Any) -> None:
        """Check the right on the job, save through the service."""
        self._save(serializer, Rule())

    def perform_update(self, serializer: Any) -> None:
        """Check the rights on the old and new job, save through the service."""
        rule = serializer.instance
        require(
            permissions.can_edit_rule(self.request.user, rule.job), "change this rule"
        )
        self._save(serializer, rule)

    def _save(self, serializer: Any, rule: Rule) -> None:
        for name, value in serializer.validated_data.items():
            setattr(rule, name, value)
        require(
            permissions.can_edit_rule(self.request.user, rule.job),
            "set rules for this job" if rule.job else "set rules for every job",
        )
        serializer.instance = rule_save(
            rule=rule,
            actor=self.request.user,
            now=clock.now(),
            ip=request_ip(self.request),
        )

    def perform_destroy(self, instance: Rule) -> None:
        """Delete through the service (audited)."""
        require(
            permissions.can_edit_rule(self.request.user, instance.job),
            "change this rule",
        )
        rule_delete(
            rule=instance,
            actor=self.request.user,
            now=clock.now(),
            ip=request_ip(self.request),
        )


class DeliveryFilter(django_filters.FilterSet):
    """Filter deliveries by job, channel and status."""

    job = IdFilter(field_name="job_id", help_text="The job's id.")
    channel = IdFilter(field_name="channel_id", help_text="The channel's id.")
    status = django_filters.ChoiceFilter(choices=Notification.Status.choices)

    class Meta:
        model = Notification
        fields = ("job", "channel", "status")


@extend_schema_view(
    list=extend_schema(responses={200: DeliverySerializer, **LIST_ERRORS}),
    retrieve=extend_schema(
        parameters=[ID_PARAMETER], responses={200: DeliverySerializer, **READ_ERRORS}
    ),
)
class DeliveryViewSet(
    ObjectByIdMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Deliveries with their attempts, read-only, newest first."""

    serializer_class = DeliverySerializer
    permission_classes = (IsAuthenticated,)
    filterset_class = DeliveryFilter

    def get_queryset(self) -> QuerySet[Notification]:
        """Deliveries the user may see."""
        return (
            permissions.deliveries_visible_to(self.request.user)
            .prefetch_related("attempts_made")
            .order_by("-pk")
        )


class JobResumeView(APIView):
    """Resume a job the circuit breaker paused (activate, reset the streak)."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        request=None,
        parameters=[id_path_parameter("job_pk")],
        responses={200: ResumedSerializer, **READ_ERRORS},
    )
    def post(self, request: Request, job_pk: str) -> Response:
        """Activate the job and reset its failing streak."""
        job = get_object_or_404(jobs_visible_to(request.user), pk=id_or_404(job_pk))
        require(permissions.can_resume_job(request.user, job), "activate this job")
        job = job_circuit_resume(
            job=job, actor=request.user, now=clock.now(), ip=request_ip(request)
        )
        return Response({"id": job.pk, "is_active": job.is_active})
