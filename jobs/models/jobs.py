"""Jobs and their schedules (runs and workers are in `jobs.models.runs`).

Schedules are stored as wall-clock documents plus an IANA timezone, never
converted to UTC; only the derived `Job.next_run_at` is a UTC instant, and it
is recomputed by `jobs.services.job_schedule_refresh` whenever the schedules,
the timezone or `is_active` change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from jobs import conf
from jobs import schedule as engine
from jobs.validators import (
    validate_args,
    validate_env,
    validate_exit_codes,
    validate_schedule_document,
    validate_script_path,
    validate_timezone,
    validate_working_dir,
)


def default_timezone() -> str:
    """Return the portal's default timezone, read at call time."""
    return conf.default_timezone()


class Job(models.Model):
    """A script to run on one or more schedules in one timezone."""

    class RetryBackoff(models.TextChoices):
        FIXED = "fixed", "Fixed delay"
        EXPONENTIAL = "exponential", "Exponential delay"

    class ConcurrencyPolicy(models.TextChoices):
        ALLOW = "allow", "Allow overlapping runs"
        FORBID = "forbid", "Skip a slot while a run is active"
        REPLACE = "replace", "Cancel the active run and start the new one"

    class DependencyMode(models.TextChoices):
        ALL_SUCCESS = "all_success", "When every upstream succeeded"
        ANY_SUCCESS = "any_success", "When any upstream succeeded"
        ALL_COMPLETE = "all_complete", "When every upstream ended, whatever the outcome"

    class MisfirePolicy(models.TextChoices):
        RUN_ONCE = "run_once", "Run once for all missed slots"
        SKIP = "skip", "Skip missed slots"
        RUN_ALL = "run_all", "Run every missed slot"

    class BlackoutAction(models.TextChoices):
        SKIP = "skip", "Skip a slot inside a blackout window"
        DEFER = "defer", "Defer a slot to the blackout window's end"

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
    pre_hook = models.CharField(
        "pre-run hook",
        max_length=500,
        blank=True,
        validators=[validate_script_path],
        help_text="Script run before the job's script, which starts only if it "
        "exits 0 (path relative to the scripts directory; empty for none).",
    )
    post_hook = models.CharField(
        "post-run hook",
        max_length=500,
        blank=True,
        validators=[validate_script_path],
        help_text="Script run after the job's script whatever the outcome, with "
        "JOB_STATUS and JOB_EXIT_CODE set (empty for none).",
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
    blackout_calendars = models.ManyToManyField(
        "jobs.BlackoutCalendar",
        blank=True,
        related_name="jobs",
        help_text="Calendars whose windows this job's slots avoid (global "
        "calendars apply to every job).",
    )
    blackout_action = models.CharField(
        max_length=16,
        choices=BlackoutAction.choices,
        default=BlackoutAction.SKIP,
        help_text="What a slot inside a blackout window becomes.",
    )
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Delete finished runs after this many days (0: never); "
        "empty means JOB_PORTAL_RETENTION_DAYS.",
    )
    retention_runs = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Keep at most this many finished runs (0: no limit); empty "
        "means JOB_PORTAL_RETENTION_RUNS.",
    )
    output_retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Empty the output of finished runs after this many days, "
        "keeping the run (0: never); empty means JOB_PORTAL_OUTPUT_RETENTION_DAYS.",
    )
    legacy_id = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="The job's id in the legacy portal, if imported (import_legacy).",
    )
    template_version = models.ForeignKey(
        "jobs.JobTemplateVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        editable=False,
        help_text="The template version this job was made from, if any.",
    )
    dependency_mode = models.CharField(
        max_length=16,
        choices=DependencyMode.choices,
        default=DependencyMode.ALL_SUCCESS,
        help_text="How the outcomes of the jobs this one depends on combine.",
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
