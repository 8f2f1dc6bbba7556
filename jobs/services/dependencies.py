"""Queue downstream jobs when their upstream jobs end: the "dependencies" consumer.

The worker calls `dependency_events_process` each cycle. It claims run
events under the consumer name `CONSUMER` (registered by a migration) and,
for each `ended` event of a run that is final (no retry of it follows: a
retried run counts once, by its last attempt), decides each active job that
depends on the run's job (`jobs.dependency_rules.decide`) and either waits,
queues a run with trigger `dependency`, or records a `skipped` run with
reason code `upstream_failed` that names the failed upstream run. Either
run records, in `JobRunUpstream`, the upstream runs that decided it; those
runs never decide that job again.

A round of a downstream job counts the upstream runs that ended after its
last dependency-triggered run (queued or skipped) was recorded, newest
first, within each dependency's window. The rows are written with the
event's ack, in one transaction: a consumer that dies before acking leaves
nothing, and the event comes back after its lease.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, OperationalError, transaction

from accounts.actors import Actor
from jobs import dependency_rules as rules
from jobs import reasons
from jobs.models import Job, JobDependency, JobRun, JobRunUpstream, RunEvent
from jobs.services.events import run_events_ack, run_events_claim
from jobs.services.outcomes import runs_end
from jobs.services.runs import job_run_now

logger = logging.getLogger(__name__)

CONSUMER = "dependencies"
# Events claimed per step: enough for a burst, bounded for one cycle.
BATCH = 100
LEASE_SECONDS = 60.0
# Newest ended runs of an upstream job looked at for a final one.
CANDIDATES = 5
# Decisions a downstream job remembers the rounds of: an outcome of a round
# one of its last ROUNDS dependency runs belongs to is no new round.
ROUNDS = 20
MSG_UPSTREAM_FAILED = (
    'Upstream run {run} of job "{job}" ended {status}: the dependencies '
    "({mode}) cannot be met this round."
)


def dependency_events_process(
    *, now: datetime, limit: int = BATCH, lease_seconds: float = LEASE_SECONDS
) -> int:
    """Handle up to `limit` run events for the dependencies; return how many.

    Events of jobs no job depends on are acked in one statement.
    """
    claimed = run_events_claim(
        consumer=CONSUMER, limit=limit, now=now, lease_seconds=lease_seconds
    )
    if not claimed:
        return 0
    upstream_ids = set(
        JobDependency.objects.filter(
            depends_on_id__in={event.job_id for event in claimed}
        ).values_list("depends_on_id", flat=True)
    )
    idle = [event.pk for event in claimed if event.job_id not in upstream_ids]
    handled = run_events_ack(consumer=CONSUMER, event_ids=idle, now=now)
    for event in claimed:
        if event.job_id in upstream_ids and _handle_acked(event, now=now):
            handled += 1
    return handled


def _handle_acked(event: RunEvent, *, now: datetime) -> bool:
    """Ack `event` and write what it decides, together; True if acked here."""
    try:
        with transaction.atomic():
            if not run_events_ack(consumer=CONSUMER, event_ids=[event.pk], now=now):
                return False  # Another process of the consumer took it over.
            if event.kind == RunEvent.Kind.ENDED:
                dependency_run_ended(run=event.run, now=now)
    except (IntegrityError, OperationalError) as exc:
        # A racing process recorded the same round first (the unique key),
        # or held SQLite's write lock: nothing of ours was kept, and the
        # lease brings the event back, when its upstream run is used.
        logger.warning("Event %s: not decided now (%s); will look again", event.pk, exc)
        return False
    return True


def dependency_run_ended(*, run: JobRun, now: datetime) -> list[JobRun]:
    """Decide the jobs depending on `run`'s job; return the runs recorded."""
    if not _is_final(run) or not rules.is_outcome(run.reason_code):
        return []
    recorded = []
    downstream = Job.objects.filter(dependencies__depends_on_id=run.job_id)
    for job in downstream.filter(is_active=True).order_by("pk"):
        decided = dependency_decide(job=job, now=now)
        if decided is not None:
            recorded.append(decided)
    return recorded


def dependency_decide(*, job: Job, now: datetime) -> JobRun | None:
    """Queue or skip a run of `job` if its round is decided; return it."""
    # Serialise decisions about one job (PostgreSQL; SQLite's writers are
    # serialised anyway, and the unique key backs both up).
    list(Job.objects.select_for_update().filter(pk=job.pk).values_list("pk"))
    last = (
        JobRun.objects.filter(job=job, trigger=JobRun.Trigger.DEPENDENCY)
        .order_by("-queued_at")
        .values_list("queued_at", flat=True)
        .first()
    )
    deps = list(job.dependencies.select_related("depends_on").order_by("pk"))
    decided = _decided_roots(job)
    outcomes = {
        dep.depends_on_id: _outcome(dep, after=last, decided=decided, now=now)
        for dep in deps
    }
    decision = rules.decide(mode=job.dependency_mode, outcomes=outcomes)
    if decision.action is rules.Action.RUN:
        run = job_run_now(
            job=job, requested_by=None, now=now, trigger=JobRun.Trigger.DEPENDENCY
        )
        logger.info("Run %s of job %s queued by its dependencies", run.pk, job.pk)
    elif decision.failed_run_id is not None:
        run = _skip(job, failed_run_id=decision.failed_run_id, now=now)
    else:
        return None  # The round is not decided yet.
    roots = run_roots(decision.run_ids)
    JobRunUpstream.objects.bulk_create(
        JobRunUpstream(run=run, job=job, upstream_run_id=pk, roots=sorted(roots[pk]))
        for pk in decision.run_ids
    )
    return run


def job_run_pipeline(
    *,
    job: Job,
    requested_by: Actor,
    now: datetime,
    trigger: str = JobRun.Trigger.MANUAL,
    ip: str | None = None,
) -> JobRun:
    """Queue a run of `job` now; its downstream jobs follow as it ends.

    The downstream runs are the dependencies consumer's to queue, one round
    at a time, so a pipeline started here behaves as one started by a
    schedule. Audited as a run of `job` by `requested_by`.
    """
    return job_run_now(
        job=job, requested_by=requested_by, now=now, trigger=trigger, ip=ip
    )


def run_roots(run_ids: Iterable[int]) -> dict[int, set[int]]:
    """Return, for each run, the runs that started the round it belongs to.

    A run its dependencies queued (or skipped) belongs to its upstream runs'
    rounds (stored with them), a retry to its first attempt's; any other
    run (a schedule's, a person's, the API's) starts a round. Three queries.
    """
    firsts: dict[int, int] = {}
    runs = JobRun.objects.filter(pk__in=list(run_ids))
    for pk, job_id, slot, attempt in runs.values_list(
        "pk", "job_id", "scheduled_for", "attempt"
    ):
        firsts[pk] = pk
        if attempt > 1:
            first = JobRun.objects.filter(job_id=job_id, scheduled_for=slot, attempt=1)
            firsts[pk] = first.values_list("pk", flat=True).first() or pk
    stored: dict[int, set[int]] = {}
    for run_id, roots in JobRunUpstream.objects.filter(
        run_id__in=set(firsts.values())
    ).values_list("run_id", "roots"):
        stored.setdefault(run_id, set()).update(roots)
    return {pk: stored.get(first, {first}) for pk, first in firsts.items()}


def _decided_roots(job: Job) -> set[int]:
    """Return the rounds (their root runs) `job`'s recent decisions were in."""
    recent = list(
        JobRun.objects.filter(job=job, trigger=JobRun.Trigger.DEPENDENCY)
        .order_by("-queued_at")
        .values_list("pk", flat=True)[:ROUNDS]
    )
    rows = JobRunUpstream.objects.filter(run_id__in=recent).values_list(
        "roots", flat=True
    )
    return {root for roots in rows for root in roots}


def _outcome(
    dep: JobDependency,
    *,
    after: datetime | None,
    decided: set[int],
    now: datetime,
) -> rules.Outcome | None:
    """Return the newest final outcome of `dep`'s upstream of a new round.

    Not used by `dep`'s job before, ended after its last dependency run,
    within the window, and of a round none of its recent decisions was in
    (in a diamond with `any_success`, the second branch's success is the
    same round as the first's).
    """
    ended = (
        JobRun.objects.filter(
            job_id=dep.depends_on_id,
            status__in=JobRun.FINISHED,
            finished_at__isnull=False,
        )
        .exclude(reason_code__in=rules.NOT_OUTCOME_CODES)
        .exclude(downstream_uses__job_id=dep.job_id)
    )
    if after is not None:
        ended = ended.filter(finished_at__gt=after)
    start = rules.window_start(now=now, window_hours=dep.window_hours)
    if start is not None:
        ended = ended.filter(finished_at__gte=start)
    for run in ended.order_by("-finished_at", "-pk")[:CANDIDATES]:
        if not _is_final(run) or run_roots([run.pk])[run.pk] <= decided:
            continue
        return rules.Outcome(run_id=run.pk, succeeded=rules.is_success(run.status))
    return None


def _is_final(run: JobRun) -> bool:
    """Return True unless a later attempt of the run's slot exists (a retry)."""
    return not JobRun.objects.filter(
        job_id=run.job_id, scheduled_for=run.scheduled_for, attempt__gt=run.attempt
    ).exists()


def _skip(job: Job, *, failed_run_id: int, now: datetime) -> JobRun:
    """Record a skipped run of `job` naming the failed upstream run."""
    failed = JobRun.objects.select_related("job").get(pk=failed_run_id)
    reason = MSG_UPSTREAM_FAILED.format(
        run=failed.pk,
        job=failed.job.name,
        status=failed.status,
        mode=job.dependency_mode,
    )
    record = JobRun(
        job=job,
        scheduled_for=now,
        attempt=1,
        trigger=JobRun.Trigger.DEPENDENCY,
        status=JobRun.Status.SKIPPED,
        queued_at=now,
        not_before=now,
        finished_at=now,
        priority=job.priority,
        reason=reason,
        reason_code=reasons.UPSTREAM_FAILED,
    )
    runs_end(now=now, records=[record])
    logger.info("Job %s skipped: %s", job.pk, reason)
    return record
