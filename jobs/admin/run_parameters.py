"""Run parameters in the job admin: declared inline, asked for by "Run now".

A job's parameters are rows edited under the job. "Run now" on a job that
declares parameters shows a form with one box per parameter; the values go
through `jobs.services.parameters.parameters_validate`, so the admin gives
the same messages as the API, shown next to each box.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from jobs.admin.access import ScheduleAccessMixin
from jobs.models import MSG_PARAMETER_DUPLICATE, Job, JobParameter
from jobs.services.parameters import parameters_validate

# Marks a POST that carries the parameters form (not the "Run now" button).
SUBMITTED = "_run_parameters"
MSG_DEFAULT = "(default: {value})"
MSG_NO_VALUE = "(no value)"


class JobParameterFormSet(BaseInlineFormSet):
    """The job's parameter rows; names must differ regardless of case."""

    def clean(self) -> None:
        """Refuse two rows whose names differ only in case (one JOB_PARAM_*)."""
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            if not form.is_valid() or form.cleaned_data.get("DELETE"):
                continue
            name = str(form.cleaned_data.get("name") or "").lower()
            if name and name in seen:
                form.add_error("name", MSG_PARAMETER_DUPLICATE)
            seen.add(name)

    def parameter_documents(self) -> list[dict[str, Any]]:
        """Return the kept rows as parameter documents, in position order.

        The job's parameters are saved with the job through `job_save`, so
        that its version and audit event hold them.
        """
        kept = [
            form
            for form in self.forms
            if not form.cleaned_data.get("DELETE")
            and (form.instance.pk is not None or form.has_changed())
        ]
        kept.sort(key=lambda form: form.cleaned_data.get("position") or 0)
        return [
            {
                "name": form.cleaned_data["name"],
                "type": form.cleaned_data["type"],
                "required": form.cleaned_data["is_required"],
                "default": form.cleaned_data["default"],
                "choices": form.cleaned_data["choices"] or [],
                "description": form.cleaned_data["description"],
            }
            for form in kept
        ]


class JobParameterInline(ScheduleAccessMixin, admin.TabularInline):
    """Parameters the job declares; each reaches the script as JOB_PARAM_<NAME>.

    Edited with the job, like its schedules: the job's rights apply.
    """

    model = JobParameter
    formset = JobParameterFormSet
    extra = 0
    fields = (
        "name",
        "type",
        "is_required",
        "default",
        "choices",
        "description",
        "position",
    )
    verbose_name_plural = "run parameters"

    def formfield_for_dbfield(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        """Give the choices box a small one-line JSON input."""
        if db_field.name == "choices":
            kwargs["widget"] = forms.TextInput(
                attrs={"class": "jobs-json", "placeholder": '["apac", "emea"]'}
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class RunParametersForm(forms.Form):
    """One box per declared parameter, prefilled with its default."""

    def __init__(self, *args: Any, job: Job, **kwargs: Any) -> None:
        """Build the boxes from `job`'s parameters."""
        super().__init__(*args, **kwargs)
        self.job = job
        self.validated: dict[str, Any] = {}
        for parameter in job.parameters.all():
            self.fields[parameter.name] = _field(parameter)

    def clean(self) -> dict[str, Any]:
        """Validate the values as the API does; errors go next to their boxes."""
        super().clean()
        cleaned = self.cleaned_data
        values = {name: value for name, value in cleaned.items() if value != ""}
        try:
            self.validated = parameters_validate(job=self.job, values=values)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        return cleaned


def _field(parameter: JobParameter) -> forms.Field:
    """Return the box for one parameter: text, or a list for choices/booleans.

    A list's empty entry means "not given": the default, if there is one.
    """
    label = parameter.name + ("" if parameter.is_required else " (optional)")
    common: dict[str, Any] = {
        "label": label,
        "required": False,  # parameters_validate says "required", with the rest
        "help_text": parameter.description,
    }
    empty = (
        MSG_DEFAULT.format(value=parameter.default)
        if parameter.default
        else MSG_NO_VALUE
    )
    if parameter.type == JobParameter.Type.BOOLEAN:
        choices = [("", empty), ("true", "true"), ("false", "false")]
        return forms.ChoiceField(choices=choices, **common)
    if parameter.type == JobParameter.Type.CHOICE:
        choices = [("", empty), *((c, c) for c in parameter.choices)]
        return forms.ChoiceField(choices=choices, **common)
    return forms.CharField(strip=False, initial=parameter.default, **common)
