"""Secrets given to scripts as environment variables."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from jobs import secret_backends
from jobs.validators import (
    validate_secret_name,
)

MSG_NO_REFERENCE_FOR_BUILTIN = (
    "A secret in the built-in store has no reference; clear it or pick a backend."
)


class Secret(models.Model):
    """A named credential, stored encrypted (see `jobs.crypto`), or a reference.

    With a backend other than the built-in store, `reference` says where
    Vault or AWS keeps the value; it is fetched per run, never stored.

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

    class Backend(models.TextChoices):
        BUILTIN = "builtin", "built-in encrypted store"
        VAULT = secret_backends.VAULT, "HashiCorp Vault (KV v2)"
        AWS = secret_backends.AWS, "AWS Secrets Manager"

    description = models.TextField(blank=True)
    backend = models.CharField(
        max_length=10,
        choices=Backend.choices,
        default=Backend.BUILTIN,
        help_text="Where the value lives; other backends are asked at run time.",
    )
    reference = models.CharField(
        max_length=500,
        blank=True,
        help_text="Vault: 'path#key'. AWS: 'secret-id' or 'secret-id#json-key'.",
    )
    value_encrypted = models.TextField(editable=False)
    value_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse a reference that does not fit the backend."""
        if self.backend == self.Backend.BUILTIN:
            if self.reference:
                raise ValidationError({"reference": MSG_NO_REFERENCE_FOR_BUILTIN})
            return
        problem = secret_backends.reference_problem(self.backend, self.reference)
        if problem:
            raise ValidationError({"reference": problem})

    @property
    def is_set(self) -> bool:
        """Return True if a value has been stored (or a backend holds it)."""
        return self.backend != self.Backend.BUILTIN or bool(self.value_encrypted)
