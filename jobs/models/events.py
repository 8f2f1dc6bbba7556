"""Run events and their consumers (issue 10: one seam where a run ends)."""

from __future__ import annotations

from django.db import models

from jobs.models.jobs import Job
from jobs.models.runs import JobRun


class RunEvent(models.Model):
    """A run ended, or a retry of it was scheduled: written with the change.

    Rows are inserted by `jobs.services.outcomes` only, in the transaction
    that changes the run, and read by consumers through
    `jobs.services.events` (each consumer reads each event once).
    """

    class Kind(models.TextChoices):
        ENDED = "ended", "Ended"
        RETRY_SCHEDULED = "retry_scheduled", "Retry scheduled"

    run = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="events")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="run_events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=JobRun.Status.choices)
    reason_code = models.CharField(
        max_length=32, choices=JobRun.ReasonCode.choices, blank=True
    )
    attempt = models.PositiveIntegerField()
    at = models.DateTimeField()

    class Meta:
        ordering = ("pk",)
        default_permissions = ("view",)
        indexes = (
            # Retention deletes by age.
            models.Index(fields=["at"], name="runevent_at_idx"),
            models.Index(fields=["job", "at"], name="runevent_job_idx"),
        )

    def __str__(self) -> str:
        return f"run {self.run_id} {self.kind} {self.status}"


class RunEventConsumer(models.Model):
    """A reader of run events; retention keeps an event until all have read it."""

    name = models.CharField(max_length=100, unique=True)
    registered_at = models.DateTimeField()

    class Meta:
        ordering = ("name",)
        default_permissions = ("view",)

    def __str__(self) -> str:
        return self.name


class RunEventReceipt(models.Model):
    """One consumer's claim on one event: leased until acked.

    Written unclaimed (no `claimed_until`, no `token`) with the event, one
    per registered consumer. A claim holds the event for `claimed_until`;
    an unacked event whose lease has passed is claimed again (its consumer
    crashed). `token` names the claim that took the lease last.
    """

    event = models.ForeignKey(
        RunEvent, on_delete=models.CASCADE, related_name="receipts"
    )
    consumer = models.ForeignKey(
        RunEventConsumer, on_delete=models.CASCADE, related_name="receipts"
    )
    token = models.CharField(max_length=32, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        default_permissions = ("view",)
        constraints = (
            models.UniqueConstraint(
                fields=["consumer", "event"], name="runeventreceipt_one_per_event"
            ),
        )
        indexes = (
            # A consumer's unread events, oldest first (its claims).
            models.Index(
                fields=["consumer", "event"],
                condition=models.Q(acked_at__isnull=True),
                name="runeventreceipt_unread_idx",
            ),
            models.Index(
                fields=["consumer", "token"], name="runeventreceipt_token_idx"
            ),
        )

    def __str__(self) -> str:
        return f"{self.consumer_id}: event {self.event_id}"
