"""Job templates: list, create, read, change, instantiate; their versions.

- `GET/POST /api/templates`, `GET/PUT/PATCH /api/templates/{id}`: template
  documents (`name`, `category`, `description`, `parameters`, `body`);
  writes take `jobs.add_jobtemplate` / `jobs.change_jobtemplate`;
- `POST /api/templates/{id}/instantiate` `{"name": ..., "values": {...}}`:
  create a job from the template (the right to create jobs), through
  `template_instantiate`, the admin's service;
- `GET /api/jobs/{id}/template`: the template version a job came from and
  the template's changes since (as the job page shows them);
- `GET /api/template-versions?template={id}`, `GET .../{id}`,
  `GET .../{id}/diff?against={id}`, `POST .../{id}/restore`.

Every write goes through `jobs.services.templates`, so versions and audit
events are the admin's.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Max, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.client import request_ip
from jobportal import clock
from jobportal.api.ids import (
    IdField,
    IdFilter,
    ObjectByIdMixin,
    id_or_404,
    id_path_parameter,
)
from jobportal.api.responses import (
    BAD_FILTER,
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
)
from jobportal.api.serializers import (
    StorableCharField,
    StrictSerializer,
    storable_json,
)
from jobs import permissions as perms
from jobs.api.access import require
from jobs.api.views.versions import VersionDiffOutput, change_data
from jobs.document_schema import DocumentInvalidError
from jobs.models import JobTemplate, JobTemplateVersion
from jobs.presentation import MSG_FIRST_VERSION, author_name
from jobs.services.templates import (
    job_template_update,
    template_apply,
    template_instantiate,
    template_latest_version,
    template_save,
    template_version_diff,
    template_version_restore,
)
from jobs.version_diff import MSG_NO_CHANGES

ID_PARAMETER = id_path_parameter()
ACTION_CREATE = "create templates"
ACTION_CHANGE = "change templates"
ACTION_INSTANTIATE = "create jobs"
MSG_AGAINST_OTHER = "Version {against} is not a version of this template."
MSG_NO_BODY = "Restoring takes no request body."


class TemplateInput(StrictSerializer):
    """A template document as a request body."""

    name = StorableCharField(max_length=200)
    category = StorableCharField(max_length=100, required=False, allow_blank=True)
    description = StorableCharField(required=False, allow_blank=True)
    parameters = serializers.JSONField(
        required=False,
        help_text='[{"name": "url", "default": null, "description": "..."}]',
    )
    body = serializers.JSONField(
        help_text="A job document with {{ name }} placeholders."
    )

    def validate_parameters(self, value: Any) -> Any:
        """Refuse text that cannot be stored."""
        return storable_json(value)

    def validate_body(self, value: Any) -> Any:
        """Refuse text that cannot be stored."""
        return storable_json(value)


class TemplateOutput(serializers.ModelSerializer):
    """A template as the API shows it: its document, id and latest version."""

    version = serializers.SerializerMethodField(help_text="Latest version number.")

    class Meta:
        model = JobTemplate
        fields = (
            "id",
            "name",
            "category",
            "description",
            "parameters",
            "body",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_version(self, template: JobTemplate) -> int | None:
        """Return the number of the template's latest version."""
        annotated: int | None = getattr(template, "latest", None)
        if annotated is not None:
            return annotated
        latest = template_latest_version(template)
        return latest.number if latest is not None else None


class InstantiateInput(StrictSerializer):
    """The body of POST /api/templates/{id}/instantiate."""

    name = StorableCharField(
        max_length=200, required=False, help_text="The job's name (default: body's)."
    )
    values = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Parameter values by name; one left out takes its default.",
    )

    def validate_values(self, value: Any) -> Any:
        """Refuse text that cannot be stored."""
        return storable_json(value)


class InstantiateOutput(serializers.Serializer):
    """The job the template made."""

    id = serializers.IntegerField(help_text="The job's id.")
    name = serializers.CharField()
    template = serializers.IntegerField()
    template_version = serializers.IntegerField(allow_null=True)
    url = serializers.CharField(help_text="GET it at this URL.")


class TemplateFilter(django_filters.FilterSet):
    """Filter templates by category."""

    category = django_filters.CharFilter(help_text="Exact category.")

    class Meta:
        model = JobTemplate
        fields = ("category",)


@extend_schema_view(
    list=extend_schema(
        summary="List job templates",
        responses={200: TemplateOutput(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Show a job template",
        parameters=[ID_PARAMETER],
        responses={200: TemplateOutput, **READ_ERRORS},
    ),
    create=extend_schema(
        summary="Create a job template",
        request=TemplateInput,
        responses={201: TemplateOutput, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Replace a job template (a new version)",
        parameters=[ID_PARAMETER],
        request=TemplateInput,
        responses={200: TemplateOutput, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change some keys of a job template (a new version)",
        parameters=[ID_PARAMETER],
        request=TemplateInput,
        responses={200: TemplateOutput, **WRITE_ERRORS},
    ),
)
class TemplateViewSet(
    ObjectByIdMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Job templates with the admin's rights, services and audit."""

    permission_classes = (IsAuthenticated,)
    serializer_class = TemplateOutput
    filterset_class = TemplateFilter
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[JobTemplate]:
        """Return every template to those who may see templates."""
        if not perms.can_view_templates(self.request.user):
            return JobTemplate.objects.none()
        templates = JobTemplate.objects.order_by("category", "name", "pk")
        if self.action == "list":
            # One query for the page; a write answers with its fresh version.
            templates = templates.annotate(latest=Max("versions__number"))
        return templates

    def create(self, request: Request) -> Response:
        """Create a template from a document (version 1)."""
        require(perms.can_add_template(request.user), ACTION_CREATE)
        template = self._save(JobTemplate(), request, partial=False)
        return Response(TemplateOutput(template).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str) -> Response:
        """Replace the template's document."""
        template = self.get_object()
        require(perms.can_change_template(request.user), ACTION_CHANGE)
        return Response(TemplateOutput(self._save(template, request)).data)

    def partial_update(self, request: Request, pk: str) -> Response:
        """Change the keys given."""
        template = self.get_object()
        require(perms.can_change_template(request.user), ACTION_CHANGE)
        saved = self._save(template, request, partial=True)
        return Response(TemplateOutput(saved).data)

    @extend_schema(
        summary="Create a job from the template",
        parameters=[ID_PARAMETER],
        request=InstantiateInput,
        responses={201: InstantiateOutput, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def instantiate(self, request: Request, pk: str) -> Response:
        """Create a job from the template with the values given; you own it."""
        template = self.get_object()
        require(perms.can_instantiate_template(request.user), ACTION_INSTANTIATE)
        body = InstantiateInput(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            job = template_instantiate(
                template=template,
                values=dict(body.validated_data.get("values") or {}),
                name=body.validated_data.get("name"),
                now=clock.now(),
                actor=request.user,
                ip=request_ip(request._request),
            )
        except DocumentInvalidError as exc:
            raise ValidationError(exc.errors) from None
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        url = reverse("api:job-detail", args=[job.pk])
        version = job.template_version
        data = InstantiateOutput(
            {
                "id": job.pk,
                "name": job.name,
                "template": template.pk,
                "template_version": version.number if version else None,
                "url": url,
            }
        ).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": url})

    def _save(
        self, template: JobTemplate, request: Request, *, partial: bool = False
    ) -> JobTemplate:
        body = TemplateInput(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        document = {**_document(template), **body.validated_data}
        template_apply(template, document)
        try:
            return template_save(
                template=template,
                now=clock.now(),
                actor=request.user,
                ip=request_ip(request._request),
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None


def _document(template: JobTemplate) -> dict[str, Any]:
    """Return the template's current values (empty for a new one)."""
    if template.pk is None:
        return {}
    return {
        "name": template.name,
        "category": template.category,
        "description": template.description,
        "parameters": template.parameters,
        "body": template.body,
    }


class TemplateVersionFilter(django_filters.FilterSet):
    """Filter versions by template."""

    template = IdFilter(field_name="template_id", help_text="The template's id.")

    class Meta:
        model = JobTemplateVersion
        fields = ("template",)


class TemplateVersionOutput(serializers.ModelSerializer):
    """A template version with its snapshot (the template document)."""

    template_name = serializers.CharField(source="template.name")
    author = serializers.SerializerMethodField()

    class Meta:
        model = JobTemplateVersion
        fields = (
            "id",
            "template",
            "template_name",
            "number",
            "author",
            "note",
            "created_at",
            "snapshot",
        )
        read_only_fields = fields

    def get_author(self, version: JobTemplateVersion) -> str:
        """Return who stored the version, or "system"."""
        return author_name(version)


class DiffQuery(serializers.Serializer):
    """The diff's query: the version to compare with."""

    against = IdField(required=False)


@extend_schema_view(
    list=extend_schema(
        summary="List template versions",
        responses={200: TemplateVersionOutput(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Show a template version",
        parameters=[ID_PARAMETER],
        responses={200: TemplateVersionOutput, **READ_ERRORS},
    ),
)
class TemplateVersionViewSet(
    ObjectByIdMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Template versions: list, detail, diff and restore."""

    permission_classes = (IsAuthenticated,)
    serializer_class = TemplateVersionOutput
    filterset_class = TemplateVersionFilter
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[JobTemplateVersion]:
        """Return the versions, newest first, to those who may see templates."""
        if not perms.can_view_templates(self.request.user):
            return JobTemplateVersion.objects.none()
        return JobTemplateVersion.objects.select_related("template", "author").order_by(
            "-created_at", "-pk"
        )

    @extend_schema(
        summary="Compare two template versions",
        parameters=[ID_PARAMETER, DiffQuery],
        responses={200: VersionDiffOutput, 400: BAD_FILTER, **READ_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def diff(self, request: Request, pk: str) -> Response:
        """Return the changes from `against` (or the previous version) to this."""
        version = self.get_object()
        query = DiffQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        others = JobTemplateVersion.objects.filter(template_id=version.template_id)
        against_id = query.validated_data.get("against")
        if against_id is None:
            against = (
                others.filter(number__lt=version.number).order_by("-number").first()
            )
        else:
            against = others.filter(pk=against_id).first()
            if against is None:
                message = MSG_AGAINST_OTHER.format(against=against_id)
                raise ValidationError({"against": [message]})
        changes = (
            [change_data(c) for c in template_version_diff(old=against, new=version)]
            if against is not None
            else []
        )
        if against is None:
            note = MSG_FIRST_VERSION
        else:
            note = "" if changes else MSG_NO_CHANGES
        return Response(
            VersionDiffOutput(
                {
                    "version": version.pk,
                    "number": version.number,
                    "against": against.pk if against else None,
                    "against_number": against.number if against else None,
                    "changes": changes,
                    "note": note,
                }
            ).data
        )

    @extend_schema(
        summary="Restore a template version (a new version, audited)",
        parameters=[ID_PARAMETER],
        request=None,
        responses={200: TemplateOutput, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        """Save this version's document as the template's current one."""
        version = self.get_object()
        require(perms.can_change_template(request.user), ACTION_CHANGE)
        if request.data:
            raise ValidationError({"non_field_errors": [MSG_NO_BODY]})
        try:
            template = template_version_restore(
                version=version,
                actor=request.user,
                now=clock.now(),
                ip=request_ip(request._request),
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return Response(TemplateOutput(template).data)


class JobOriginOutput(serializers.Serializer):
    """The template a job was made from, and what changed in it since."""

    job = serializers.IntegerField()
    template = serializers.IntegerField(
        allow_null=True, help_text="Null when the job was not made from a template."
    )
    template_name = serializers.CharField(allow_null=True)
    version = serializers.IntegerField(
        allow_null=True, help_text="The template version the job was made from."
    )
    latest_version = serializers.IntegerField(allow_null=True)
    is_outdated = serializers.BooleanField(
        help_text="True when the template has a newer version."
    )
    changes = serializers.ListField(
        child=serializers.DictField(),
        help_text="The template's changes since the job's version "
        "(field, kind, old, new, text).",
    )


class JobOriginView(APIView):
    """GET /api/jobs/{id}/template: the job's template and its newer changes."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary="The template a job came from, and what changed in it since",
        parameters=[id_path_parameter("job_pk")],
        responses={200: JobOriginOutput, **READ_ERRORS},
    )
    def get(self, request: Request, job_pk: str) -> Response:
        """Return the job's template origin; 404 unless the user may see the job."""
        job = get_object_or_404(
            perms.jobs_visible_to(request.user), pk=id_or_404(job_pk)
        )
        version = job.template_version
        update = job_template_update(job)
        latest = update.latest if update is not None else version
        data = {
            "job": job.pk,
            "template": version.template_id if version else None,
            "template_name": version.template.name if version else None,
            "version": version.number if version else None,
            "latest_version": latest.number if latest else None,
            "is_outdated": update is not None,
            "changes": [change_data(c) for c in update.changes] if update else [],
        }
        return Response(JobOriginOutput(data).data)
