"""The jobs a job depends on, edited inline on the job's page.

The rows are checked by `jobs.services.job_dependencies` when the form is
validated (unknown or unseen job, the job itself, a cycle named
`A → B → C → A`) and stored by `job_save` with the job, so the admin
refuses what the API and the import refuse, with the same messages. An
upstream job that is deactivated is allowed, and marked so.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import ForeignKey
from django.forms import ModelChoiceField
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from jobs import permissions as perms
from jobs.admin.access import ScheduleAccessMixin
from jobs.documents import DEPENDENCIES_KEY, DEPENDENCY_JOB_KEY, DEPENDENCY_WINDOW_KEY
from jobs.models import Job, JobDependency
from jobs.services.job_dependencies import dependencies_resolve

MSG_INACTIVE_UPSTREAM = "Deactivated: it does not run, so this job waits for it."
MSG_ACTIVE_UPSTREAM = "Active"


class DependencyFormSet(BaseInlineFormSet):
    """The job's dependency rows; checked as a whole (cycles) on clean."""

    def clean(self) -> None:
        """Refuse what `job_save` would refuse, as a form error."""
        super().clean()
        if any(self.errors):
            return
        try:
            dependencies_resolve(
                job=self.instance, documents=self.dependency_documents(), actor=None
            )
        except ValidationError as exc:
            raise ValidationError(exc.message_dict[DEPENDENCIES_KEY]) from None

    def dependency_documents(self) -> list[dict[str, Any]]:
        """Return the rows kept as dependency documents ("job", "window_hours")."""
        documents = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            upstream = data.get("depends_on")
            if upstream is None or data.get("DELETE"):
                continue
            documents.append(
                {
                    DEPENDENCY_JOB_KEY: upstream.name,
                    DEPENDENCY_WINDOW_KEY: data.get("window_hours"),
                }
            )
        return documents


class JobDependencyInline(ScheduleAccessMixin, admin.TabularInline):
    """The jobs this job runs after; the job's rights apply."""

    model = JobDependency
    fk_name = "job"
    formset = DependencyFormSet
    extra = 0
    fields = ("depends_on", "window_hours", "upstream_state")
    readonly_fields = ("upstream_state",)
    verbose_name = "dependency (runs after)"
    verbose_name_plural = "Dependencies (this job runs after)"

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        """Offer only the jobs the user may see as upstream jobs."""
        if db_field.name == "depends_on":
            kwargs["queryset"] = perms.jobs_visible_to(request.user).order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="upstream state")
    def upstream_state(self, dependency: JobDependency) -> str:
        """Say whether the upstream job is active (a deactivated one is allowed)."""
        upstream: Job | None = getattr(dependency, "depends_on", None)
        if upstream is None:
            return "-"
        return MSG_ACTIVE_UPSTREAM if upstream.is_active else MSG_INACTIVE_UPSTREAM
