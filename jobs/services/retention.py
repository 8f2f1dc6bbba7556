"""Retention: delete old finished runs and empty old output, in small batches.

The rules are `jobs.retention`'s: a run is deleted once its slot is older
than the job's `retention_days` (or JOB_PORTAL_RETENTION_DAYS) or when the
job has more finished runs than `retention_runs` (the newest are kept); a
run's output is emptied once its slot is older than `output_retention_days`
(the row stays, `output_trimmed_at` says when). A value of 0 means no limit.

Never touched: queued and running runs, and runs whose run events some
consumer has not read yet (they go once the events are pruned, within
JOB_PORTAL_RUN_EVENT_RETENTION_DAYS). The worker calls `retention_apply`
once per JOB_PORTAL_RETENTION_INTERVAL, one batch each; `manage.py
prunelogs` calls it until nothing is left, or `retention_count` to say what
it would do. Every step that changed something is audited with its counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from accounts.actors import Actor
from accounts.models import AuditEvent
from accounts.services.audit import AuditTarget, audit_record
from jobs import conf
from jobs.models import Job, JobRun, RunArtifact, RunEvent
from jobs.retention import RetentionPolicy, cutoff
from jobs.services.artifacts import artifacts_delete, artifacts_expired

logger = logging.getLogger(__name__)

AUDIT_TARGET = AuditTarget(type="jobs.jobrun", id="", repr="retention")


@dataclass(frozen=True)
class RetentionPass:
    """What a retention step did (or would do); `is_behind`: more is due."""

    runs_deleted: int = 0
    outputs_trimmed: int = 0
    is_behind: bool = False
    artifacts_deleted: int = 0

    def __add__(self, other: RetentionPass) -> RetentionPass:
        """Return the sum of two steps."""
        return RetentionPass(
            runs_deleted=self.runs_deleted + other.runs_deleted,
            outputs_trimmed=self.outputs_trimmed + other.outputs_trimmed,
            is_behind=other.is_behind,
            artifacts_deleted=self.artifacts_deleted + other.artifacts_deleted,
        )


def retention_default() -> RetentionPolicy:
    """Return the portal's policy (the JOB_PORTAL_RETENTION_* settings)."""
    return RetentionPolicy(
        days=conf.retention_days(),
        runs=conf.retention_runs(),
        output_days=conf.output_retention_days(),
    )


def retention_apply(
    *,
    now: datetime,
    batch: int | None = None,
    policy: RetentionPolicy | None = None,
    actor: Actor = None,
) -> RetentionPass:
    """Delete up to `batch` runs and empty up to `batch` outputs; audit it."""
    batch = batch or conf.retention_batch()
    policy = policy or retention_default()
    if not _may_have_work(now, policy):
        return RetentionPass()
    with transaction.atomic():
        ids = list(_expired(now, policy).values_list("pk", flat=True)[:batch])
        if len(ids) < batch:
            ids += _over_count(now, policy, limit=batch - len(ids))
        # Artifacts have a file besides their row: theirs go first, then
        # those past their own retention.
        gone = artifacts_delete(RunArtifact.objects.filter(run_id__in=ids))
        expired = artifacts_expired(now=now, days=conf.artifact_retention_days())
        gone += artifacts_delete(
            RunArtifact.objects.filter(
                pk__in=list(expired.values_list("pk", flat=True)[:batch])
            )
        )
        deleted = JobRun.objects.filter(pk__in=ids).delete()[1].get("jobs.JobRun", 0)
        trim = list(_untrimmed(now, policy).values_list("pk", flat=True)[:batch])
        trimmed = JobRun.objects.filter(pk__in=trim).update(
            output="", output_trimmed_at=now
        )
        done = RetentionPass(
            runs_deleted=deleted,
            outputs_trimmed=trimmed,
            is_behind=len(ids) >= batch or trimmed >= batch,
            artifacts_deleted=gone,
        )
        if deleted or trimmed or gone:
            audit_record(
                actor=actor,
                action=AuditEvent.Action.DELETE,
                target=AUDIT_TARGET,
                changes={
                    "runs_deleted": [None, deleted],
                    "outputs_trimmed": [None, trimmed],
                    "artifacts_deleted": [None, gone],
                },
                now=now,
            )
    if deleted or trimmed or gone:
        logger.info(
            "Retention: deleted %s runs and %s artifacts, emptied %s outputs",
            deleted,
            gone,
            trimmed,
        )
    return done


def retention_count(
    *, now: datetime, policy: RetentionPolicy | None = None
) -> RetentionPass:
    """Return how many runs retention would delete and outputs it would empty."""
    policy = policy or retention_default()
    deleted = _expired(now, policy).count()
    for job, keep in _jobs_over_count(policy):
        deleted += _older_than_newest(job, keep, now, policy).count()
    return RetentionPass(
        runs_deleted=deleted, outputs_trimmed=_untrimmed(now, policy).count()
    )


def _may_have_work(now: datetime, policy: RetentionPolicy) -> bool:
    """Return False only if no rule can have anything to do at `now`.

    Each worker applies retention every minute, nearly always for nothing,
    and building its queries cost an idle worker a third of its CPU. So
    first the most lenient question per rule, in plain reads: is any
    finished run older than the shortest age any job keeps runs (or their
    output, not yet emptied) for, is any artifact past its days, or does
    any count rule apply at all (that one is not answered cheaply).
    """
    jobs, runs = Job._meta.db_table, JobRun._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MIN(CASE WHEN retention_days > 0 THEN retention_days END), "  # noqa: S608
            "MIN(CASE WHEN output_retention_days > 0 THEN output_retention_days END), "
            f"COUNT(CASE WHEN retention_runs > 0 THEN 1 END) FROM {jobs}"
        )
        days, output_days, counted = cursor.fetchone()
    if policy.runs > 0 or counted:
        return True
    finished = ", ".join(["%s"] * len(JobRun.FINISHED))
    checks = [
        (
            [policy.days, days],
            f"SELECT 1 FROM {runs} WHERE status IN ({finished}) "  # noqa: S608
            "AND scheduled_for < %s",
            list(JobRun.FINISHED),
        ),
        (
            [policy.output_days, output_days],
            f"SELECT 1 FROM {runs} WHERE status IN ({finished}) "  # noqa: S608
            "AND output_trimmed_at IS NULL AND output <> '' AND scheduled_for < %s",
            list(JobRun.FINISHED),
        ),
        (
            [conf.artifact_retention_days()],
            f"SELECT 1 FROM {RunArtifact._meta.db_table} WHERE created_at < %s",  # noqa: S608
            [],
        ),
    ]
    for candidates, sql, params in checks:
        shortest = min((d for d in candidates if d and d > 0), default=None)
        before = cutoff(shortest, now=now) if shortest else None
        if before is None:
            continue
        with connection.cursor() as cursor:
            adapted = connection.ops.adapt_datetimefield_value(before)
            cursor.execute(f"{sql} LIMIT 1", [*params, adapted])
            if cursor.fetchone() is not None:
                return True
    return False


def _finished() -> QuerySet[JobRun]:
    """Return the runs retention may touch: finished, events all read."""
    unread = RunEvent.objects.filter(run=OuterRef("pk"))
    return JobRun.objects.filter(status__in=JobRun.FINISHED).exclude(Exists(unread))


def _age_rule(now: datetime, field: str, days: int) -> Q | None:
    """Return "slot older than the job's (or the default) days", or None."""
    rules = []
    overrides = (
        Job.objects.filter(**{f"{field}__gt": 0})
        .values_list(field, flat=True)
        .distinct()
    )
    for value in overrides:
        before = cutoff(value, now=now)
        rules.append(Q(**{f"job__{field}": value, "scheduled_for__lt": before}))
    before = cutoff(days, now=now)
    if before is not None:
        rules.append(Q(**{f"job__{field}__isnull": True, "scheduled_for__lt": before}))
    if not rules:
        return None
    combined = rules[0]
    for rule in rules[1:]:
        combined |= rule
    return combined


def _expired(now: datetime, policy: RetentionPolicy) -> QuerySet[JobRun]:
    """Return the finished runs past their job's age rule, oldest first."""
    rule = _age_rule(now, "retention_days", policy.days)
    if rule is None:
        return JobRun.objects.none()
    return _finished().filter(rule).order_by("scheduled_for")


def _untrimmed(now: datetime, policy: RetentionPolicy) -> QuerySet[JobRun]:
    """Return the finished runs whose output is due to be emptied."""
    rule = _age_rule(now, "output_retention_days", policy.output_days)
    if rule is None:
        return JobRun.objects.none()
    return (
        JobRun.objects.filter(status__in=JobRun.FINISHED, output_trimmed_at=None)
        .exclude(output="")
        .filter(rule)
        .order_by("scheduled_for")
    )


def _jobs_over_count(policy: RetentionPolicy) -> list[tuple[Job, int]]:
    """Return the jobs with more finished runs than they keep, and their keep."""
    limited = Q(retention_runs__gt=0)
    if policy.runs > 0:
        limited |= Q(retention_runs__isnull=True)
    jobs = (
        Job.objects.filter(limited)
        .annotate(
            keep=Coalesce("retention_runs", Value(policy.runs)),
            finished=Count("runs", filter=Q(runs__status__in=JobRun.FINISHED)),
        )
        .filter(finished__gt=F("keep"))
        .order_by("pk")
    )
    return [(job, int(job.keep)) for job in jobs]


def _older_than_newest(
    job: Job, keep: int, now: datetime, policy: RetentionPolicy
) -> QuerySet[JobRun]:
    """Return the job's finished runs beyond its newest `keep`, not yet expired."""
    newest = (
        JobRun.objects.filter(job=job, status__in=JobRun.FINISHED)
        .order_by("-scheduled_for", "-attempt")
        .values_list("scheduled_for", flat=True)
    )
    boundary = list(newest[keep - 1 : keep])
    if not boundary:
        # Runs were deleted meanwhile: nothing beyond the newest `keep`.
        return JobRun.objects.none()
    runs = _finished().filter(job=job, scheduled_for__lt=boundary[0])
    expired = _age_rule(now, "retention_days", policy.days)
    return runs.exclude(expired) if expired is not None else runs


def _over_count(now: datetime, policy: RetentionPolicy, *, limit: int) -> list[int]:
    """Return up to `limit` ids the count rule removes (the age rule's left out)."""
    ids: list[int] = []
    for job, keep in _jobs_over_count(policy):
        runs = _older_than_newest(job, keep, now, policy).order_by("scheduled_for")
        ids += runs.values_list("pk", flat=True)[: limit - len(ids)]
        if len(ids) >= limit:
            break
    return ids
