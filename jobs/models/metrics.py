"""Metrics rollups: run outcomes summed per hour, kept by the "metrics" consumer.

The dashboard, `GET /api/metrics` and `/metrics` read these few rows instead
of the run history (1M runs stay 1M rows; a day of all jobs is a few hundred
rows here). `jobs.services.metrics` writes them, once per run event (or all
at once from the runs by `metrics_rebuild`). Durations and lateness are in
seconds; the bucket lists follow `jobs.histograms`.
"""

from __future__ import annotations

from django.db import models

from jobs.models.jobs import Job
from jobs.models.runs import JobRun


class RollupFields(models.Model):
    """Counts, sums and histograms of the runs that ended in one bucket."""

    runs = models.PositiveIntegerField(default=0)
    duration_count = models.PositiveIntegerField(default=0)
    duration_sum = models.FloatField(default=0.0)
    duration_max = models.FloatField(default=0.0)
    duration_buckets = models.JSONField(default=list)
    lateness_count = models.PositiveIntegerField(default=0)
    lateness_sum = models.FloatField(default=0.0)
    lateness_buckets = models.JSONField(default=list)

    class Meta:
        abstract = True


class MetricHour(RollupFields):
    """All jobs' runs that ended in one UTC hour with one status."""

    hour = models.DateTimeField()
    status = models.CharField(max_length=16, choices=JobRun.Status.choices)

    class Meta:
        ordering = ("hour", "status")
        default_permissions = ("view",)
        constraints = (
            models.UniqueConstraint(
                fields=["hour", "status"], name="metrichour_one_per_status"
            ),
        )

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 {self.status}: {self.runs}"


class JobMetricHour(RollupFields):
    """One job's runs that ended in one UTC hour with one status."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    status = models.CharField(max_length=16, choices=JobRun.Status.choices)

    class Meta:
        ordering = ("job", "hour", "status")
        default_permissions = ("view",)
        constraints = (
            models.UniqueConstraint(
                fields=["job", "hour", "status"], name="jobmetrichour_one_per_status"
            ),
        )
        indexes = (
            # Some jobs' figures over a window, by hour first; status and
            # runs too, so that counting runs (the dashboard's 7 days) reads
            # the index alone, not one heap row per job and hour.
            models.Index(
                fields=["hour", "job", "status", "runs"],
                name="jobmetrichour_hour_runs_idx",
            ),
        )

    def __str__(self) -> str:
        return f"{self.job_id} {self.hour:%Y-%m-%d %H}:00 {self.status}: {self.runs}"


class MetricTotal(RollupFields):
    """All runs ever ended with one status: the Prometheus counters."""

    status = models.CharField(max_length=16, choices=JobRun.Status.choices, unique=True)

    class Meta:
        ordering = ("status",)
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.status}: {self.runs}"


class JobLastOutcome(models.Model):
    """How a job's latest slot ended (the dashboard's "jobs by last status")."""

    job = models.OneToOneField(
        Job, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    run = models.ForeignKey(
        JobRun, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=JobRun.Status.choices)
    scheduled_for = models.DateTimeField()
    attempt = models.PositiveIntegerField()
    finished_at = models.DateTimeField()

    class Meta:
        default_permissions = ("view",)
        indexes = (models.Index(fields=["status"], name="joblastoutcome_status_idx"),)

    def __str__(self) -> str:
        return f"{self.job_id}: {self.status}"


class JobWeek(models.Model):
    """A job's runs in the 7 days up to the hour of its latest ended run.

    Kept with each event (from the job's hourly rows), so that the slowest
    and most failing jobs are an indexed ORDER BY ... LIMIT over one row per
    job, not an aggregate over a week of rollups.
    """

    job = models.OneToOneField(
        Job, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_hour = models.DateTimeField(db_index=True)
    runs = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    duration_count = models.PositiveIntegerField(default=0)
    duration_sum = models.FloatField(default=0.0)
    duration_max = models.FloatField(default=0.0)
    average_duration = models.FloatField(null=True)

    class Meta:
        default_permissions = ("view",)
        indexes = (
            models.Index(fields=["-average_duration"], name="jobweek_slowest_idx"),
            models.Index(fields=["-failures"], name="jobweek_failing_idx"),
        )

    def __str__(self) -> str:
        return f"{self.job_id}: {self.runs} runs, {self.failures} failed"
