"""Jobs, their schedules, their runs and the workers that execute them.

Schedules are stored as wall-clock documents plus an IANA timezone, never
converted to UTC; only the derived `Job.next_run_at` is a UTC instant, and it
is recomputed by `jobs.services.job_schedule_refresh` whenever the schedules,
the timezone or `is_active` change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from jobs import parameters as params
from jobs import reasons
from jobs import schedule as engine
from jobs.validators import (
    validate_args,
    validate_choices,
    validate_env,
    validate_exit_codes,
    validate_parameter_name,
    validate_schedule_document,
    validate_script_path,
    validate_secret_name,
    validate_timezone,
    validate_working_dir,
)

MSG_PARAMETER_DUPLICATE = (
    "This job already has a parameter with this name (case does not matter)."
)
MSG_CHOICES_ONLY_FOR_CHOICE = "Only a parameter of type choice has choices."


def default_timezone() -> str:
    """Return the portal's default timezone, read at call time."""
    return settings.JOB_PORTAL_TIMEZONE


class Job(models.Model):
    """A script to run on one or more schedules in one timezone."""

    class RetryBackoff(models.TextChoices):
        FIXED = "fixed", "Fixed delay"
        EXPONENTIAL = "exponential", "Exponential delay"

    class ConcurrencyPolicy(models.TextChoices):
        ALLOW = "allow", "Allow overlapping runs"
        FORBID = "forbid", "Skip a slot while a run is active"
        REPLACE = "replace", "Cancel the active run and start the new one"

    class MisfirePolicy(models.TextChoices):
        RUN_ONCE = "run_once", "Run once for all missed slots"
        SKIP = "skip", "Skip missed slots"
        RUN_ALL = "run_all", "Run every missed slot"

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    script = models.CharField(
        max_length=500,
        validators=[validate_script_path],
        help_text="Path relative to the scripts directory, e.g. 'hello.py'.",
    )
    args = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_args],
        help_text="List of strings.",
    )
    env = models.JSONField(
        "environment",
        default=dict,
        blank=True,
        validators=[validate_env],
        help_text='Extra environment variables, e.g. {"REGION": "apac"}.',
    )
    secrets = models.ManyToManyField(
        "jobs.Secret",
        blank=True,
        related_name="jobs",
        help_text="Given to the script as environment variables under their names.",
    )
    working_dir = models.CharField(
        max_length=500,
        blank=True,
        validators=[validate_working_dir],
        help_text="Relative to the scripts directory; empty means the script's folder.",
    )
    timezone = models.CharField(
        max_length=64,
        default=default_timezone,
        validators=[validate_timezone],
        help_text="IANA zone the schedules' wall-clock times are in.",
    )
    is_active = models.BooleanField("active", default=True)
    next_run_at = models.DateTimeField(
        null=True, blank=True, db_index=True, editable=False
    )
    schedule_error = models.TextField(blank=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_jobs",
    )
    priority = models.IntegerField(
        default=0, help_text="Higher runs first when work queues."
    )
    timeout_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Empty means the worker's default (JOB_PORTAL_WORKER_JOB_TIMEOUT).",
    )
    retry_max_attempts = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Total attempts per slot; 1 means no retries.",
    )
    retry_delay_seconds = models.PositiveIntegerField(default=60)
    retry_backoff = models.CharField(
        max_length=16, choices=RetryBackoff.choices, default=RetryBackoff.FIXED
    )
    retry_max_delay_seconds = models.PositiveIntegerField(default=3600)
    retry_exit_codes = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_exit_codes],
        help_text="Exit codes that retry; empty means any non-zero exit code.",
    )
    retry_on_timeout = models.BooleanField(default=False)
    retry_on_lost = models.BooleanField(default=True)
    retry_max_total_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Stop retrying this long after the first attempt.",
    )
    concurrency_policy = models.CharField(
        max_length=16,
        choices=ConcurrencyPolicy.choices,
        default=ConcurrencyPolicy.FORBID,
    )
    max_concurrent = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Runs of this job at once.",
    )
    misfire_policy = models.CharField(
        max_length=16, choices=MisfirePolicy.choices, default=MisfirePolicy.RUN_ONCE
    )
    misfire_grace_seconds = models.PositiveIntegerField(
        default=60, help_text="A slot this late or less still simply runs."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)
        indexes = (
            models.Index(fields=["is_active", "next_run_at"], name="job_due_idx"),
        )
        # Per-job right to queue a manual run (jobs.permissions).
        permissions = (("run_job", "Can run job"),)

    def __str__(self) -> str:
        return self.name

    def parsed_schedules(self) -> list[engine.Schedule]:
        """Return the job's schedules parsed by the engine (job zone default)."""
        return [
            engine.parse_schedule(s.document, default_timezone=self.timezone)
            for s in self.schedules.all()
        ]

    def schedule_documents(self) -> list[dict[str, Any]]:
        """Return the job's schedule documents in order."""
        return [s.document for s in self.schedules.all()]

    @classmethod
    def field_defaults(cls, names: Iterable[str]) -> dict[str, Any]:
        """Return the default of each named field, as a new job gets it."""
        defaults = {}
        for name in names:
            field = cls._meta.get_field(name)
            if not isinstance(field, models.Field):
                raise TypeError(f"Job.{name} is a relation's other side, not a field")
            defaults[name] = field.get_default()
        return defaults


class Schedule(models.Model):
    """One schedule document of a job (see DESIGN.md, "Schedules")."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="schedules")
    document = models.JSONField(validators=[validate_schedule_document])
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("job", "position", "pk")

    def __str__(self) -> str:
        return f"{self.job_id}: {self.document}"

    @property
    def kind(self) -> str:
        """Return the document's type."""
        return str(self.document.get("type", ""))


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


# --- run events (issue 10: one seam where a run ends) ------------------------


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

    A claim holds the event for `claimed_until`; an unacked event whose
    lease has passed is claimed again (its consumer crashed). `token`
    names the claim that took the lease last.
    """

    event = models.ForeignKey(
        RunEvent, on_delete=models.CASCADE, related_name="receipts"
    )
    consumer = models.ForeignKey(
        RunEventConsumer, on_delete=models.CASCADE, related_name="receipts"
    )
    token = models.CharField(max_length=32)
    claimed_until = models.DateTimeField()
    acked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        default_permissions = ("view",)
        constraints = (
            models.UniqueConstraint(
                fields=["consumer", "event"], name="runeventreceipt_one_per_event"
            ),
        )
        indexes = (
            # Expired leases of one consumer.
            models.Index(
                fields=["consumer", "claimed_until"],
                condition=models.Q(acked_at__isnull=True),
                name="runeventreceipt_open_idx",
            ),
            models.Index(
                fields=["consumer", "token"], name="runeventreceipt_token_idx"
            ),
        )

    def __str__(self) -> str:
        return f"{self.consumer_id}: event {self.event_id}"


# --- job versions (accounts issue: versions, diff and rollback) --------------


class JobVersion(models.Model):
    """A snapshot of a job's definition, stored at every change.

    `snapshot` is the job document (`jobs.documents.job_to_document`) plus the
    script's content hash and the names (never the values) of its secrets;
    see `jobs.services.versions`. Versions are never edited: a rollback
    saves the old snapshot as a new version.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="job_versions",
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("job", "-number")
        default_permissions = ("view",)
        constraints = (
            models.UniqueConstraint(
                fields=["job", "number"], name="jobversion_unique_number"
            ),
        )

    def __str__(self) -> str:
        return f"{self.job} v{self.number}"


# --- scripts, secrets and run parameters (issue 4) ---------------------------


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
