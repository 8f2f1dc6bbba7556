"""Workers and the runs they execute (one attempt at one slot of a job)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from jobs import reasons
from jobs.models.jobs import Job


class Worker(models.Model):
    """A `runworker` process, known by its heartbeats."""

    name = models.CharField(max_length=200, unique=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_heartbeat_at = models.DateTimeField(db_index=True)
    # When the worker last finished a scheduling cycle, as of its last
    # heartbeat (written with the heartbeat, not every cycle).
    last_cycle_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-last_heartbeat_at",)

    def __str__(self) -> str:
        return self.name


class JobRun(models.Model):
    """One attempt at one slot of a job, or the record of why it did not run."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        TIMED_OUT = "timed_out", "Timed out"
        CANCELLED = "cancelled", "Cancelled"
        LOST = "lost", "Lost"
        SKIPPED = "skipped", "Skipped"
        BLOCKED = "blocked", "Blocked"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Manual"
        RETRY = "retry", "Retry"
        DEPENDENCY = "dependency", "Dependency"
        API = "api", "API"

    class ReasonCode(models.TextChoices):
        """Why a run ended as it did (see `jobs.reasons`); blank: succeeded."""

        MISFIRE_FOLDED = reasons.MISFIRE_FOLDED, reasons.LABELS[reasons.MISFIRE_FOLDED]
        MISFIRE_SKIPPED = (
            reasons.MISFIRE_SKIPPED,
            reasons.LABELS[reasons.MISFIRE_SKIPPED],
        )
        MISFIRE_CAP = reasons.MISFIRE_CAP, reasons.LABELS[reasons.MISFIRE_CAP]
        CONCURRENCY_FORBID = (
            reasons.CONCURRENCY_FORBID,
            reasons.LABELS[reasons.CONCURRENCY_FORBID],
        )
        SCHEDULE_ERROR = reasons.SCHEDULE_ERROR, reasons.LABELS[reasons.SCHEDULE_ERROR]
        BLACKOUT = reasons.BLACKOUT, reasons.LABELS[reasons.BLACKOUT]
        UPSTREAM_FAILED = (
            reasons.UPSTREAM_FAILED,
            reasons.LABELS[reasons.UPSTREAM_FAILED],
        )
        PATH_REFUSED = reasons.PATH_REFUSED, reasons.LABELS[reasons.PATH_REFUSED]
        SCRIPT_UNAPPROVED = (
            reasons.SCRIPT_UNAPPROVED,
            reasons.LABELS[reasons.SCRIPT_UNAPPROVED],
        )
        SCRIPT_REJECTED = (
            reasons.SCRIPT_REJECTED,
            reasons.LABELS[reasons.SCRIPT_REJECTED],
        )
        SCRIPT_BLOCKED = reasons.SCRIPT_BLOCKED, reasons.LABELS[reasons.SCRIPT_BLOCKED]
        PARAMETERS_INVALID = (
            reasons.PARAMETERS_INVALID,
            reasons.LABELS[reasons.PARAMETERS_INVALID],
        )
        SECRETS_UNREADABLE = (
            reasons.SECRETS_UNREADABLE,
            reasons.LABELS[reasons.SECRETS_UNREADABLE],
        )
        PRE_HOOK_FAILED = (
            reasons.PRE_HOOK_FAILED,
            reasons.LABELS[reasons.PRE_HOOK_FAILED],
        )
        REPLACED = reasons.REPLACED, reasons.LABELS[reasons.REPLACED]
        CANCELLED_BY_USER = (
            reasons.CANCELLED_BY_USER,
            reasons.LABELS[reasons.CANCELLED_BY_USER],
        )
        MARKED_FAILED = reasons.MARKED_FAILED, reasons.LABELS[reasons.MARKED_FAILED]
        WORKER_LOST = reasons.WORKER_LOST, reasons.LABELS[reasons.WORKER_LOST]
        WORKER_RESTARTED = (
            reasons.WORKER_RESTARTED,
            reasons.LABELS[reasons.WORKER_RESTARTED],
        )
        SHUTDOWN = reasons.SHUTDOWN, reasons.LABELS[reasons.SHUTDOWN]
        TIMED_OUT = reasons.TIMED_OUT, reasons.LABELS[reasons.TIMED_OUT]
        EXIT_CODE = reasons.EXIT_CODE, reasons.LABELS[reasons.EXIT_CODE]
        SIGNAL = reasons.SIGNAL, reasons.LABELS[reasons.SIGNAL]
        START_FAILED = reasons.START_FAILED, reasons.LABELS[reasons.START_FAILED]
        WORKER_ERROR = reasons.WORKER_ERROR, reasons.LABELS[reasons.WORKER_ERROR]
        ARTIFACTS_TOO_LARGE = (
            reasons.ARTIFACTS_TOO_LARGE,
            reasons.LABELS[reasons.ARTIFACTS_TOO_LARGE],
        )
        LEASE_EXPIRED = reasons.LEASE_EXPIRED, reasons.LABELS[reasons.LEASE_EXPIRED]
        LEGACY_FAILED = reasons.LEGACY_FAILED, reasons.LABELS[reasons.LEGACY_FAILED]

    FINISHED = (
        Status.SUCCEEDED,
        Status.FAILED,
        Status.TIMED_OUT,
        Status.CANCELLED,
        Status.LOST,
        Status.SKIPPED,
        Status.BLOCKED,
    )

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="runs")
    scheduled_for = models.DateTimeField()
    attempt = models.PositiveIntegerField(default=1)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    queued_at = models.DateTimeField()
    not_before = models.DateTimeField(
        help_text="The run may not start before this instant (retry delay)."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    worker = models.ForeignKey(
        Worker, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="triggered_runs",
    )
    parameters = models.JSONField(default=dict, blank=True)
    output = models.TextField(blank=True)
    output_dropped_bytes = models.BigIntegerField(default=0)
    # When retention emptied the output (the run itself is kept).
    output_trimmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    reason = models.TextField(
        blank=True, help_text="Why the run was skipped, blocked, failed or cancelled."
    )
    reason_code = models.CharField(
        max_length=32,
        choices=ReasonCode.choices,
        blank=True,
        help_text="The reason as a code, for programs; blank for a success.",
    )
    missed_slots = models.PositiveIntegerField(
        default=0, help_text="Earlier missed slots folded into this run (misfire)."
    )
    # The job's priority, copied when the run is queued (and again when the
    # job's priority changes), so that claiming reads one index in order.
    priority = models.IntegerField(default=0)
    # Where the run's supervisor runs (`jobs.supervisor`), to end its process
    # tree from the same host; a pid is only trusted with its start time
    # (clock ticks since boot, /proc/PID/stat field 22) and this boot's id.
    host = models.CharField(max_length=255, blank=True)
    boot_id = models.CharField(max_length=64, blank=True)
    supervisor_pid = models.PositiveIntegerField(null=True, blank=True)
    supervisor_started = models.BigIntegerField(null=True, blank=True)
    # Renewed by the worker's heartbeat; its supervisor ends the script
    # before it runs out, so another worker may take the run over after.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    legacy_id = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="The log's id in the legacy portal, if imported (import_legacy).",
    )
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cancel_requested_runs",
    )

    class Meta:
        ordering = ("-scheduled_for", "-attempt")
        constraints = (
            models.UniqueConstraint(
                fields=["job", "scheduled_for", "attempt"], name="jobrun_one_per_slot"
            ),
        )
        indexes = (
            models.Index(fields=["status", "not_before"], name="jobrun_status_idx"),
            models.Index(
                fields=["job", "-scheduled_for"], name="jobrun_job_history_idx"
            ),
            models.Index(fields=["-scheduled_for"], name="jobrun_recent_idx"),
            models.Index(fields=["worker", "status"], name="jobrun_worker_idx"),
            # The dashboard's latest failures: per status, newest ends first.
            models.Index(
                fields=["status", "-finished_at"], name="jobrun_status_finished_idx"
            ),
            # Active runs of one job: concurrency policies and claims.
            models.Index(fields=["job", "status"], name="jobrun_job_status_idx"),
            # Queued runs in claiming order: a claim reads the first few.
            models.Index(
                fields=["-priority", "not_before", "id"],
                condition=models.Q(status="queued"),
                name="jobrun_claim_order_idx",
            ),
        )

    def __str__(self) -> str:
        return f"{self.job} @ {self.scheduled_for:%Y-%m-%d %H:%M:%S} #{self.attempt}"

    @property
    def duration_seconds(self) -> float | None:
        """Return how long the run took, if it started and finished."""
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def is_finished(self) -> bool:
        """Return True once the run has an outcome."""
        return self.status in self.FINISHED


class RunArtifact(models.Model):
    """A file a run left in its JOB_ARTIFACTS_DIR, kept in the artifacts storage."""

    run = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="artifacts")
    # The file's path inside the run's folder, "/"-separated.
    name = models.CharField(max_length=500)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    # Where the storage keeps it (jobs.storage.artifact_storage()).
    storage_name = models.CharField(max_length=600)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("run", "name")
        constraints = (
            models.UniqueConstraint(fields=["run", "name"], name="artifact_one_name"),
        )
        indexes = (models.Index(fields=["created_at"], name="artifact_age_idx"),)

    def __str__(self) -> str:
        return f"{self.run_id}: {self.name}"
