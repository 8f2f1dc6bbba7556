"""The "Run now" form of a job with parameters (a mixin for the job admin).

The job form's script dropdown, secrets and parameter rows are stated by the
job admin itself (`jobs.admin.jobs`, `jobs.admin.job_form`); this mixin adds
the page that asks for the run's parameter values.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from jobs.admin.bases import ModelAdminMixin
from jobs.admin.run_parameters import SUBMITTED, RunParametersForm
from jobs.models import Job

RUN_NOW_TEMPLATE = "admin/jobs/job/run_now.html"
MSG_RUN_TITLE = "Run {job} now"


class JobRunParametersMixin(ModelAdminMixin):
    """Add the page that asks for a run's parameters before "Run now"."""

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
            **self.admin_site.each_context(request),
            "title": MSG_RUN_TITLE.format(job=job.name),
            "opts": Job._meta,
            "original": job,
            "form": form,
            "submitted_field": SUBMITTED,
        }
        return TemplateResponse(request, RUN_NOW_TEMPLATE, context)
