"""Scripts, secrets and run parameters on the job admin (a mixin for it).

- the script box is a dropdown of the script files with their review status
  (saving the job registers its script: `job_save`);
- the job's secrets are chosen by name (their values never show here);
- parameters are rows under the job, and "Run now" asks for their values.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from jobs.admin.run_parameters import SUBMITTED, JobParameterInline, RunParametersForm
from jobs.admin.script_display import with_script_dropdown
from jobs.models import Job

RUN_NOW_TEMPLATE = "admin/jobs/job/run_now.html"
MSG_RUN_TITLE = "Run {job} now"


class JobScriptsSecretsMixin:
    """Add the script dropdown, secrets, parameter rows and the run form."""

    filter_horizontal = ("secrets",)

    def get_inlines(
        self, request: HttpRequest, obj: Job | None
    ) -> list[type[admin.options.InlineModelAdmin]]:
        """Edit the job's run parameters under it."""
        inlines = list(super().get_inlines(request, obj))  # type: ignore[misc]
        return [*inlines, JobParameterInline]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Job | None = None
    ) -> tuple[str, ...]:
        """Show the secrets read-only to those who may not manage secrets."""
        fields = tuple(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if not request.user.has_perm("jobs.change_secret"):
            fields = (*fields, "secrets")
        return fields

    def get_fieldsets(
        self, request: HttpRequest, obj: Job | None = None
    ) -> list[tuple[str | None, dict[str, Any]]]:
        """Put the secrets right after the environment variables."""
        fieldsets = []
        for name, options in super().get_fieldsets(request, obj):  # type: ignore[misc]
            fields = tuple(options.get("fields", ()))
            if "env" in fields and "secrets" not in fields:
                at = fields.index("env") + 1
                fields = (*fields[:at], "secrets", *fields[at:])
                options = {**options, "fields": fields}
            fieldsets.append((name, options))
        return fieldsets

    def get_form(
        self,
        request: HttpRequest,
        obj: Job | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[ModelForm]:
        """Offer the script files as a dropdown."""
        form = super().get_form(request, obj, change, **kwargs)  # type: ignore[misc]
        return with_script_dropdown(form, current=obj.script if obj else None)

    def run_parameters_or_form(
        self, request: HttpRequest, job: Job
    ) -> dict[str, Any] | HttpResponse:
        """Return the run's parameters, or the page that asks for them.

        A job without parameters runs at once. Otherwise the "Run now"
        button shows the form, and its submission is validated with
        `parameters_validate`; errors show next to their boxes.
        """
        if not job.parameters.exists():
            return {}
        if SUBMITTED not in request.POST:
            form = RunParametersForm(job=job)
        else:
            form = RunParametersForm(request.POST, job=job)
            if form.is_valid():
                return form.validated
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": MSG_RUN_TITLE.format(job=job.name),
            "opts": Job._meta,
            "original": job,
            "form": form,
            "submitted_field": SUBMITTED,
        }
        return TemplateResponse(request, RUN_NOW_TEMPLATE, context)
