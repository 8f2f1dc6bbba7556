"""Secrets given to scripts as environment variables."""

from __future__ import annotations

from django.db import models

from jobs.validators import (
    validate_secret_name,
)


class Secret(models.Model):
    """A named credential, stored encrypted (see `jobs.crypto`).

    The value is written by `jobs.services.secrets` and never shown again;
    `value_encrypted` holds a Fernet token. Jobs list the secrets their
    script receives as environment variables named like the secret.
    """

    name = models.CharField(
        max_length=100,
        unique=True,
        validators=[validate_secret_name],
        help_text="The environment variable the script reads, e.g. API_TOKEN.",
    )
    description = models.TextField(blank=True)
    value_encrypted = models.TextField(editable=False)
    value_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    @property
    def is_set(self) -> bool:
        """Return True if a value has been stored."""
        return bool(self.value_encrypted)
