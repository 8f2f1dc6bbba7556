"""Run parameters of a job."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from jobs import parameters as params
from jobs.models.jobs import Job
from jobs.validators import (
    validate_choices,
    validate_parameter_name,
)

MSG_PARAMETER_DUPLICATE = (
    "This job already has a parameter with this name (case does not matter)."
)
MSG_CHOICES_ONLY_FOR_CHOICE = "Only a parameter of type choice has choices."


class JobParameter(models.Model):
    """A parameter a job declares; a run's value arrives as JOB_PARAM_<NAME>."""

    class Type(models.TextChoices):
        STRING = params.STRING, "String"
        INTEGER = params.INTEGER, "Integer"
        BOOLEAN = params.BOOLEAN, "Boolean"
        CHOICE = params.CHOICE, "Choice"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="parameters")
    name = models.CharField(max_length=64, validators=[validate_parameter_name])
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.STRING)
    is_required = models.BooleanField("required", default=False)
    default = models.CharField(
        max_length=500,
        blank=True,
        help_text="Used when a run gives no value; empty means none.",
    )
    choices = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_choices],
        help_text='For type choice: the allowed values, e.g. ["apac", "emea"].',
    )
    description = models.CharField(max_length=500, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("job", "position", "pk")
        constraints = (
            # JOB_PARAM_<NAME> is upper case: "region" and "REGION" collide.
            models.UniqueConstraint(
                models.F("job"),
                Lower("name"),
                name="jobparameter_unique_name",
                violation_error_message=MSG_PARAMETER_DUPLICATE,
            ),
        )

    def __str__(self) -> str:
        return f"{self.job_id}: {self.name}"

    def clean(self) -> None:
        """Refuse choices on a non-choice type and a default of the wrong type."""
        if self.choices is None:
            # An empty form box arrives as None; the column holds a list.
            self.choices = []
        if self.type == self.Type.CHOICE and not self.choices:
            raise ValidationError({"choices": params.MSG_NO_CHOICES})
        if self.type != self.Type.CHOICE and self.choices:
            raise ValidationError({"choices": MSG_CHOICES_ONLY_FOR_CHOICE})
        if not params.is_blank(self.default):
            try:
                params.coerce_value(self.type, self.default, choices=self.choices)
            except params.ParameterValueError as exc:
                raise ValidationError({"default": str(exc)}) from None

    @property
    def env_name(self) -> str:
        """Return the environment variable that carries this parameter."""
        return params.env_name(self.name)
