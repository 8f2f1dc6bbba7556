"""Channels, rules, per-job notification state and the outbox."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from jobs.models import Job, JobRun
from notifications import decisions, templating
from notifications.channels.registry import CHOICES

MSG_TRIGGERS_EMPTY = "Choose at least one event."
MSG_TRIGGER_UNKNOWN = "Unknown event(s): {names}. Choose from: {choices}."
MSG_FAILING_N = "Set 'failing N times' to 2 or more for the failing_n event."


def validate_template(source: str) -> None:
    """Refuse a template that does not compile, naming the line."""
    error = templating.template_errors(source)
    if error:
        raise ValidationError(error)


def validate_triggers(value: object) -> None:
    """Refuse an empty or unknown list of triggers."""
    if not isinstance(value, list) or not value:
        raise ValidationError(MSG_TRIGGERS_EMPTY)
    unknown = decisions.unknown_triggers([str(item) for item in value])
    if unknown:
        raise ValidationError(
            MSG_TRIGGER_UNKNOWN.format(
                names=", ".join(unknown), choices=", ".join(decisions.TRIGGERS)
            )
        )


class Channel(models.Model):
    """Where notifications go: an email list, a webhook, Slack or Teams.

    `config` holds the plain settings (recipients, SMTP host); the secret
    ones (webhook URL and secret, SMTP password) live encrypted in
    `secrets_encrypted` and are never shown again.
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=CHOICES)
    config = models.JSONField(default=dict, blank=True)
    secrets_encrypted = models.TextField(blank=True, editable=False)
    subject_template = models.TextField(
        blank=True,
        validators=[validate_template],
        help_text="Django template; blank: the default subject.",
    )
    body_template = models.TextField(
        blank=True,
        validators=[validate_template],
        help_text="Django template; blank: the default text.",
    )
    is_active = models.BooleanField("active", default=True)
    rate_per_hour = models.PositiveIntegerField(
        default=0, help_text="Messages an hour at most (0: no limit)."
    )
    rate_burst = models.PositiveIntegerField(
        default=5, help_text="Messages sent at once before the rate applies."
    )
    bucket_tokens = models.FloatField(default=0, editable=False)
    bucket_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Rule(models.Model):
    """Which events of a job (or of every job) go to a channel."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="rules")
    job = models.ForeignKey(
        Job,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notification_rules",
        help_text="Blank: every job (a global default).",
    )
    triggers = models.JSONField(
        "events",
        default=list,
        validators=[validate_triggers],
        help_text="Any of: " + ", ".join(decisions.TRIGGERS),
    )
    failing_n = models.PositiveIntegerField(
        "failing N times", default=0, help_text="N for the failing_n event."
    )
    only_on_change = models.BooleanField(
        default=True,
        help_text="Send success and failures only when the job's state changes.",
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("pk",)

    def __str__(self) -> str:
        scope = self.job.name if self.job_id and self.job else "every job"
        return f"{scope} -> {self.channel}"

    def clean(self) -> None:
        """Require N >= 2 when the rule asks for failing_n."""
        if decisions.FAILING_N in (self.triggers or []) and self.failing_n < 2:
            raise ValidationError({"failing_n": [MSG_FAILING_N]})


class JobState(models.Model):
    """What notifications remember of a job: its failing streak and mute."""

    job = models.OneToOneField(
        Job, on_delete=models.CASCADE, primary_key=True, related_name="notify_state"
    )
    failing_streak = models.PositiveIntegerField(default=0, editable=False)
    muted_until = models.DateTimeField(
        null=True, blank=True, help_text="Send nothing about this job until then."
    )
    circuit_breaker_after = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Pause the job after this many failures in a row "
        "(blank: JOB_PORTAL_CIRCUIT_BREAKER_AFTER; 0: never).",
    )
    circuit_opened_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        default_permissions = ("view", "change")

    def __str__(self) -> str:
        return f"{self.job_id}: {self.failing_streak} failing"


class Notification(models.Model):
    """One message for one channel: an outbox row, sent by the worker."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Suppressed (rate limit)"
        DIGESTED = "digested", "Sent in a digest"

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="notifications"
    )
    job = models.ForeignKey(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    run = models.ForeignKey(
        JobRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    event = models.CharField(max_length=32)
    idempotency_key = models.CharField(max_length=64, unique=True)
    # Rendered from `facts` with the channel's templates when first sent.
    subject = models.TextField(blank=True)
    body = models.TextField(blank=True)
    facts = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ("-pk",)
        default_permissions = ("view",)
        indexes = (
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="notification_due_idx",
            ),
            models.Index(fields=["channel", "status"], name="notification_chan_idx"),
        )

    def __str__(self) -> str:
        return f"{self.event} -> {self.channel_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try at sending a notification, kept whatever came of it."""

    class Outcome(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        TRANSIENT = "transient", "Failed, will retry"
        PERMANENT = "permanent", "Failed for good"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempts_made"
    )
    at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    response_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ("-pk",)
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.notification_id} {self.outcome}"


class DeliveryTotal(models.Model):
    """All-time count of send attempts per channel kind and outcome (/metrics).

    Kept by the sender in the transaction that records the attempts, so it
    only grows: deleting a channel or its history leaves the count alone.
    """

    kind = models.CharField(max_length=16, choices=CHOICES)
    outcome = models.CharField(max_length=16, choices=DeliveryAttempt.Outcome.choices)
    attempts = models.PositiveBigIntegerField(default=0)

    class Meta:
        default_permissions = ("view",)
        constraints = (
            models.UniqueConstraint(
                fields=["kind", "outcome"], name="delivery_total_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.kind} {self.outcome}: {self.attempts}"
