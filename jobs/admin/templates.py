"""The job template admin: library list, form with versions, create a job.

Pages under a template's admin URL: ``instantiate/`` ("Create job from
template": a form with the job's name and one field per parameter, its
default filled in), ``versions/`` (the history) and ``versions/<n>/`` (the
version's diff against the one before and "Restore this version"). Every
write goes through `jobs.services.templates`, as the API's do.
`template_origin` renders, on a job's page, the template it came from and
what changed in the template since.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jobportal import clock
from jobs import permissions as perms
from jobs import template_text
from jobs.admin.access import actor_ip
from jobs.document_schema import DocumentInvalidError
from jobs.models import Job, JobTemplate, JobTemplateVersion
from jobs.presentation import MSG_FIRST_VERSION, author_name
from jobs.services.templates import (
    job_template_update,
    template_delete,
    template_instantiate,
    template_latest_version,
    template_save,
    template_version_diff,
    template_version_restore,
)
from jobs.version_diff import MSG_NO_CHANGES

MSG_CREATED = "Job {job} created from template {template} v{number}."
MSG_RESTORED = "Restored version {old} of template {template} as version {new}."
MSG_FROM_TEMPLATE = 'From template <a href="{}">{}</a> version {}.'
MSG_NEWER = "Version {} of the template is newer; what changed since:"


class JobTemplateForm(forms.ModelForm):
    """The template form: the body's placeholders must be declared."""

    class Meta:
        model = JobTemplate
        fields = ("name", "category", "description", "parameters", "body")

    def clean(self) -> dict[str, Any]:
        """Check the parameters and the body as the service will."""
        data = super().clean() or {}
        try:
            data["parameters"] = template_text.parameters_check(
                data.get("parameters", [])
            )
        except template_text.TemplateError as exc:
            self.add_error("parameters", exc.messages)
            return data
        if "body" in data:
            try:
                template_text.body_check(data["body"], data["parameters"])
            except template_text.TemplateError as exc:
                self.add_error("body", exc.messages)
        return data


def instantiate_form_class(template: JobTemplate) -> type[forms.Form]:
    """Return the "Create job from template" form for `template`."""
    fields: dict[str, forms.Field] = {
        "job_name": forms.CharField(
            label="Job name",
            max_length=200,
            initial=str(template.body.get("name", "")),
        )
    }
    for parameter in template.parameters:
        default = parameter.get("default")
        fields[f"param_{parameter['name']}"] = forms.CharField(
            label=parameter["name"],
            required=default is None,
            initial="" if default is None else template_text.value_text(default),
            help_text=parameter.get("description", ""),
        )
    return type("InstantiateForm", (forms.Form,), fields)


def form_values(template: JobTemplate, cleaned: dict[str, Any]) -> dict[str, Any]:
    """Return the parameter values the form gives, typed like their defaults."""
    values: dict[str, Any] = {}
    for parameter in template.parameters:
        text = cleaned.get(f"param_{parameter['name']}", "")
        if text != "":
            default = parameter.get("default")
            values[parameter["name"]] = template_text.value_from_text(text, default)
    return values


def template_origin(job: Job) -> SafeString:
    """Return, for a job's page, its template and the template's newer changes."""
    version = job.template_version
    if version is None:
        return format_html("{}", "")
    template = version.template
    origin = format_html(
        MSG_FROM_TEMPLATE,
        reverse("admin:jobs_jobtemplate_change", args=[template.pk]),
        template.name,
        version.number,
    )
    update = job_template_update(job)
    if update is None:
        return format_html('<p class="jobs-template-origin">{}</p>', origin)
    lines = format_html_join(
        "", "<li><code>{}</code></li>", ((str(c),) for c in update.changes)
    )
    return format_html(
        '<p class="jobs-template-origin">{} {}</p><ul class="jobs-diff">{}</ul>',
        origin,
        format_html(MSG_NEWER, update.latest.number),
        lines,
    )


@admin.register(JobTemplate)
class JobTemplateAdmin(admin.ModelAdmin):
    """Job templates: the library, versions, and "Create job from template"."""

    form = JobTemplateForm
    list_display = ("name", "category", "description", "version", "create_job")
    list_filter = ("category",)
    search_fields = ("name", "category", "description")
    readonly_fields = ("tools",)
    fields = ("name", "category", "description", "parameters", "body", "tools")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Everyone who may see templates."""
        return perms.can_view_templates(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Those who may create templates."""
        return perms.can_add_template(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Those who may change templates."""
        return perms.can_change_template(request.user)

    def save_model(
        self, request: HttpRequest, obj: JobTemplate, form: Any, change: bool
    ) -> None:
        """Save through the service: a version and an audit event."""
        template_save(
            template=obj, now=clock.now(), actor=request.user, ip=actor_ip(request)
        )

    def delete_model(self, request: HttpRequest, obj: JobTemplate) -> None:
        """Delete through the service: audited."""
        template_delete(
            template=obj, now=clock.now(), actor=request.user, ip=actor_ip(request)
        )

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[JobTemplate]
    ) -> None:
        """Delete each template through the service: each audited."""
        for template in queryset:
            self.delete_model(request, template)

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobTemplate]:
        """Annotate the latest version's number: no query per row."""
        return super().get_queryset(request).annotate(latest=Max("versions__number"))

    @admin.display(description="version", ordering="latest")
    def version(self, template: JobTemplate) -> int | None:
        """Return the latest version's number."""
        latest: int | None = getattr(template, "latest", None)
        return latest

    @admin.display(description="")
    def create_job(self, template: JobTemplate) -> SafeString:
        """Link to "Create job from template"."""
        return format_html(
            '<a href="{}">Create job</a>',
            reverse("admin:jobs_jobtemplate_instantiate", args=[template.pk]),
        )

    @admin.display(description="Tools")
    def tools(self, template: JobTemplate) -> SafeString:
        """Link to "Create job from template" and the version history."""
        if template.pk is None:
            return format_html("{}", "")
        return format_html(
            '<a href="{}" class="button">Create job from this template</a> '
            '<a href="{}">Versions ({})</a>',
            reverse("admin:jobs_jobtemplate_instantiate", args=[template.pk]),
            reverse("admin:jobs_jobtemplate_versions", args=[template.pk]),
            template.versions.count(),
        )

    def get_urls(self) -> list[URLPattern]:
        """Add "create job", the versions and restore."""
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/instantiate/",
                wrap(self.instantiate_view),
                name="jobs_jobtemplate_instantiate",
            ),
            path(
                "<path:object_id>/versions/",
                wrap(self.versions_view),
                name="jobs_jobtemplate_versions",
            ),
            path(
                "<path:object_id>/versions/<int:number>/",
                wrap(self.version_view),
                name="jobs_jobtemplate_version",
            ),
            path(
                "<path:object_id>/versions/<int:number>/restore/",
                wrap(self.version_restore_view),
                name="jobs_jobtemplate_version_restore",
            ),
            *super().get_urls(),
        ]

    # --- pages ----------------------------------------------------------------

    def _template(self, request: HttpRequest, object_id: str) -> JobTemplate:
        if not perms.can_view_templates(request.user):
            raise PermissionDenied
        template = self.get_object(request, unquote(object_id))
        if template is None:
            raise Http404
        return template

    def _context(
        self, request: HttpRequest, template: JobTemplate, **extra: Any
    ) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": JobTemplate._meta,
            "original": template,
            **extra,
        }

    def instantiate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Show the parameters' form; on POST create the job and open it."""
        template = self._template(request, object_id)
        if not perms.can_instantiate_template(request.user):
            raise PermissionDenied
        form_class = instantiate_form_class(template)
        form = form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            job = self._instantiate(request, template, form)
            if job is not None:
                return HttpResponseRedirect(
                    reverse("admin:jobs_job_change", args=[job.pk])
                )
        context = self._context(
            request, template, form=form, title=f"Create a job from {template}"
        )
        return TemplateResponse(
            request, "admin/jobs/jobtemplate/instantiate.html", context
        )

    def _instantiate(
        self, request: HttpRequest, template: JobTemplate, form: forms.Form
    ) -> Job | None:
        """Create the job; put the service's refusals on the form."""
        try:
            job = template_instantiate(
                template=template,
                values=form_values(template, form.cleaned_data),
                name=form.cleaned_data["job_name"],
                now=clock.now(),
                actor=request.user,
                ip=actor_ip(request),
            )
        except DocumentInvalidError as exc:
            form.add_error(None, _error_lines(exc.errors))
            return None
        except ValidationError as exc:
            form.add_error(None, exc.messages)
            return None
        version = job.template_version
        self.message_user(
            request,
            MSG_CREATED.format(
                job=job.name,
                template=template.name,
                number=version.number if version else "?",
            ),
            messages.SUCCESS,
        )
        return job

    def versions_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """List the template's versions, newest first."""
        template = self._template(request, object_id)
        versions = template.versions.select_related("author").order_by("-number")
        rows = [(v, author_name(v)) for v in versions]
        context = self._context(
            request, template, rows=rows, title=f"Versions of {template}"
        )
        return TemplateResponse(
            request, "admin/jobs/jobtemplate/versions.html", context
        )

    def version_view(
        self, request: HttpRequest, object_id: str, number: int
    ) -> HttpResponse:
        """Show one version with its changes against the version before."""
        template = self._template(request, object_id)
        version = get_object_or_404(template.versions, number=number)
        before = template.versions.filter(number__lt=number).order_by("-number").first()
        lines = []
        note = MSG_FIRST_VERSION
        if before is not None:
            lines = [str(c) for c in template_version_diff(old=before, new=version)]
            note = "" if lines else MSG_NO_CHANGES
        context = self._context(
            request,
            template,
            version=version,
            author=author_name(version),
            against=before,
            diff_lines=lines,
            diff_note=note,
            snapshot_text=json.dumps(version.snapshot, indent=2, ensure_ascii=False),
            can_restore=perms.can_change_template(request.user),
            title=f"{template} version {number}",
        )
        return TemplateResponse(request, "admin/jobs/jobtemplate/version.html", context)

    def version_restore_view(
        self, request: HttpRequest, object_id: str, number: int
    ) -> HttpResponse:
        """Restore a version (POST): a new version, audited."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        template = self._template(request, object_id)
        if not perms.can_change_template(request.user):
            raise PermissionDenied
        version: JobTemplateVersion = get_object_or_404(
            template.versions, number=number
        )
        try:
            template = template_version_restore(
                version=version,
                actor=request.user,
                now=clock.now(),
                ip=actor_ip(request),
            )
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
        else:
            latest = template_latest_version(template)
            self.message_user(
                request,
                MSG_RESTORED.format(
                    old=number,
                    template=template.name,
                    new=latest.number if latest else number,
                ),
                messages.SUCCESS,
            )
        return HttpResponseRedirect(
            reverse("admin:jobs_jobtemplate_versions", args=[template.pk])
        )


def _error_lines(errors: Any, path: str = "") -> list[str]:
    """Return API-shaped errors as "field: message" lines."""
    if isinstance(errors, dict):
        return [
            line
            for key, value in errors.items()
            for line in _error_lines(
                value, f"{path}.{key}" if path and key != "non_field_errors" else key
            )
        ]
    if isinstance(errors, list):
        return [line for value in errors for line in _error_lines(value, path)]
    return [f"{path}: {errors}" if path else str(errors)]
