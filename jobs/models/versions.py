"""Job versions: snapshots of a job's definition (versions, diff and rollback)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from jobs.models.jobs import Job


class SnapshotVersion(models.Model):
    """What a job version and a template version share: a numbered snapshot.

    Versions are never edited; `jobs.services.versions.version_store_next`
    numbers and saves them. A subclass adds its owner (a foreign key whose
    related name is ``versions``) and the author's related name.
    """

    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        abstract = True
        default_permissions = ("view",)


class JobVersion(SnapshotVersion):
    """A snapshot of a job's definition, stored at every change.

    `snapshot` is the job document (`jobs.documents.job_to_document`) plus the
    script's content hash and the names (never the values) of its secrets;
    see `jobs.services.versions`. A rollback saves the old snapshot as a new
    version.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="versions")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="job_versions",
    )

    class Meta(SnapshotVersion.Meta):
        ordering = ("job", "-number")
        constraints = (
            models.UniqueConstraint(
                fields=["job", "number"], name="jobversion_unique_number"
            ),
        )

    def __str__(self) -> str:
        return f"{self.job} v{self.number}"
