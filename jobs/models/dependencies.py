"""Dependencies between jobs, and which upstream runs a downstream run used.

A `JobDependency` says "`job` runs after `depends_on`"; the job's
`dependency_mode` says how its upstream outcomes combine
(`jobs.dependency_rules`). The run-event consumer in
`jobs.services.dependencies` queues (or skips) a downstream run and records,
in `JobRunUpstream`, the upstream runs that decided it: each upstream run
decides each downstream job at most once (a unique key backs that up).
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from jobs.models.jobs import Job
from jobs.models.runs import JobRun

# The longest window: a year and a day, for a yearly job after a daily one.
MAX_WINDOW_HOURS = 8784


class JobDependency(models.Model):
    """`job` depends on `depends_on` (its upstream)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="dependencies")
    depends_on = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="dependents"
    )
    window_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_WINDOW_HOURS)],
        help_text="The upstream outcome counts only this many hours; empty: always.",
    )

    class Meta:
        ordering = ("job", "depends_on__name")
        constraints = (
            models.UniqueConstraint(
                fields=["job", "depends_on"], name="jobdependency_once"
            ),
            models.CheckConstraint(
                condition=~models.Q(job=models.F("depends_on")),
                name="jobdependency_not_self",
            ),
        )

    def __str__(self) -> str:
        return f"{self.job_id} after {self.depends_on_id}"


class JobRunUpstream(models.Model):
    """Upstream run `upstream_run` decided run `run` of downstream `job`."""

    run = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="upstreams")
    job = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="upstream_runs_used"
    )
    upstream_run = models.ForeignKey(
        JobRun, on_delete=models.CASCADE, related_name="downstream_uses"
    )
    # The runs that started the upstream run's round (itself, if a schedule,
    # a person or the API started it): how rounds are told apart.
    roots = models.JSONField(default=list)

    class Meta:
        ordering = ("run", "upstream_run")
        default_permissions = ("view",)
        constraints = (
            # An upstream run decides each downstream job once: two
            # consumers racing on one round cannot both queue it.
            models.UniqueConstraint(
                fields=["job", "upstream_run"], name="jobrunupstream_once"
            ),
        )

    def __str__(self) -> str:
        return f"run {self.run_id} after run {self.upstream_run_id}"
