"""The audit log (append-only, hash-chained) and API keys.

Roles are auth groups (see `accounts.roles`) and per-job rights are
django-guardian object permissions, so neither needs a model here.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


class AuditEvent(models.Model):
    """One audited action, chained to the event before it by its hash.

    Written only by `accounts.services.audit.audit_record`; never updated or
    deleted by the portal (the admin is read-only and there is no change or
    delete permission). `actor` links to the user while it exists;
    `actor_repr` keeps the name for good and is what the hash covers.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"
        RESTORE = "restore", "Restore"
        ACTIVATE = "activate", "Activate"
        DEACTIVATE = "deactivate", "Deactivate"
        RUN = "run", "Run"
        CANCEL = "cancel", "Cancel"
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"
        GRANT = "grant", "Grant"
        REVOKE = "revoke", "Revoke"
        SIGN_IN = "sign_in", "Sign-in"
        SIGN_IN_FAILED = "sign_in_failed", "Failed sign-in"
        SIGN_OUT = "sign_out", "Sign-out"

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    actor_repr = models.CharField("actor name", max_length=150, blank=True)
    # No `choices`: other apps add actions without a migration here; the
    # `Action` constants are what the code writes.
    action = models.CharField(max_length=32, db_index=True)
    target_type = models.CharField(
        max_length=100, blank=True, help_text='Model label, e.g. "jobs.job".'
    )
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField("target", max_length=255, blank=True)
    changes = models.JSONField(
        default=dict, blank=True, help_text="{field: [old, new]}, secrets hidden."
    )
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ("-pk",)
        # Append-only: no add, change or delete permission exists to grant.
        default_permissions = ("view",)
        constraints = (
            # Two writers can never chain onto the same event: a fork fails.
            models.UniqueConstraint(fields=["prev_hash"], name="audit_one_successor"),
            models.UniqueConstraint(fields=["hash"], name="audit_unique_hash"),
        )
        indexes = (
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
        )

    def __str__(self) -> str:
        target = f" {self.target_repr}" if self.target_repr else ""
        return f"#{self.pk} {self.actor_repr or 'system'} {self.action}{target}"


class APIKey(models.Model):
    """A key a program uses to call the API as its owner, with the owner's rights.

    The full key ("jtp_<prefix>_<secret>") is shown once, when it is created
    (`accounts.services.api_keys.api_key_create`); only its SHA-256 is kept.
    The prefix stays visible so that a key can be recognised in lists and
    logs. A revoked key is kept as a record, never deleted by hand.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(
        max_length=100, help_text="What the key is for, e.g. 'CI deploys'."
    )
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(
        max_length=64, editable=False, help_text="SHA-256 of the full key, in hex."
    )
    created_at = models.DateTimeField(editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: the key never expires."
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    # Written at most once a minute, so that a busy key is not a write per
    # request.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("-created_at", "-pk")
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_revoked(self) -> bool:
        """Return True once the key has been revoked."""
        return self.revoked_at is not None

    def is_expired(self, *, now: datetime) -> bool:
        """Return True if the key has an expiry time that has passed at `now`."""
        return self.expires_at is not None and self.expires_at <= now

    def status(self, *, now: datetime) -> str:
        """Return the key's `Status` at `now`; revoked wins over expired."""
        if self.is_revoked:
            return self.Status.REVOKED
        if self.is_expired(now=now):
            return self.Status.EXPIRED
        return self.Status.ACTIVE


def validate_timezone_name(value: str) -> None:
    """Refuse a name that is not an IANA time zone."""
    if not value:
        return
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            MSG_UNKNOWN_TIMEZONE.format(name=value), code="timezone"
        ) from None


MSG_UNKNOWN_TIMEZONE = (
    "Unknown time zone {name!r}; use an IANA name like 'Asia/Hong_Kong'."
)


class UserPreference(models.Model):
    """How one user wants the admin shown: the zone for every instant."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    timezone = models.CharField(
        "display time zone",
        max_length=64,
        blank=True,
        validators=[validate_timezone_name],
        help_text=(
            "IANA name, e.g. Europe/Paris. Every time in the admin is shown in "
            "it (UTC on hover). Empty: each job's own zone, else the portal's."
        ),
    )

    class Meta:
        verbose_name = "display setting"

    def __str__(self) -> str:
        return f"{self.user}: {self.timezone or 'job zones'}"
