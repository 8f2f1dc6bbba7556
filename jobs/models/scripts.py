"""Scripts and their reviews (approval of a script's content)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Script(models.Model):
    """A file in the scripts directory: its content hash and its approval.

    Rows are written by `jobs.services.scripts` and `jobs.services.approval`
    only. A job names its script by `path` (the same relative path as
    `Job.script`). With approval required, a run starts only if the file's
    current hash equals `approved_sha256`; `approved_content` keeps the
    approved text so that a changed file can be shown as a diff against it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    path = models.CharField(
        max_length=500, unique=True, help_text="Relative to the scripts directory."
    )
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    size_bytes = models.BigIntegerField("size (bytes)", null=True, blank=True)
    modified_at = models.DateTimeField("file modified at", null=True, blank=True)
    is_missing = models.BooleanField(
        "missing", default=False, help_text="Not found at the last sync."
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    approved_sha256 = models.CharField("approved SHA-256", max_length=64, blank=True)
    approved_content = models.TextField(blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approved_scripts",
    )
    approved_by_name = models.CharField("approved by", max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    registered_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ("path",)
        permissions = (("approve_script", "Can approve or reject scripts"),)

    def __str__(self) -> str:
        return self.path

    @property
    def is_runnable(self) -> bool:
        """Return True if the content last seen is the approved content."""
        return (
            self.status == self.Status.APPROVED
            and not self.is_missing
            and bool(self.approved_sha256)
            and self.sha256 == self.approved_sha256
        )

    @property
    def has_changed_since_approval(self) -> bool:
        """Return True if approved content exists and the file differs from it."""
        return bool(self.approved_sha256) and self.sha256 != self.approved_sha256


class ScriptReview(models.Model):
    """One approval or rejection of a script's content: its history."""

    class Action(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    script = models.ForeignKey(Script, on_delete=models.CASCADE, related_name="reviews")
    action = models.CharField(max_length=16, choices=Action.choices)
    sha256 = models.CharField("SHA-256", max_length=64)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="script_reviews",
    )
    # Kept for good: the history must name the reviewer after a user is gone.
    actor_name = models.CharField("by", max_length=150, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ("-at", "-pk")
        # History is written by the approval services only.
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.script} {self.action} by {self.actor_name or '?'}"
