"""Job templates and their versions (`jobs.services.templates` writes them).

A template is a job document `body` with `{{ name }}` placeholders and the
`parameters` that fill them (`jobs.template_text`). Every change of a
template is stored as a `JobTemplateVersion`, like job versions; a job made
from a template remembers the version it came from (`Job.template_version`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from jobs.models.versions import SnapshotVersion


class JobTemplate(models.Model):
    """A reusable job document with parameters, in a category."""

    name = models.CharField(max_length=200, unique=True)
    category = models.CharField(max_length=100, blank=True, db_index=True)
    description = models.TextField(blank=True)
    parameters = models.JSONField(
        default=list,
        blank=True,
        help_text='List of {"name", "default", "description"}; a default of '
        "null means a value is required.",
    )
    body = models.JSONField(
        default=dict,
        help_text="A job document whose strings may hold {{ name }} placeholders.",
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ("category", "name")

    def __str__(self) -> str:
        return self.name


class JobTemplateVersion(SnapshotVersion):
    """A snapshot of a template (its document form), stored at every change."""

    template = models.ForeignKey(
        JobTemplate, on_delete=models.CASCADE, related_name="versions"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="job_template_versions",
    )

    class Meta(SnapshotVersion.Meta):
        ordering = ("template", "-number")
        constraints = (
            models.UniqueConstraint(
                fields=["template", "number"], name="jobtemplateversion_unique_number"
            ),
        )

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"
