"""Turn due slots into runs: the scheduling half of the worker.

A *slot* is one fire instant of a job, and `Job.next_run_at` is the job's
first slot that has no record yet. A worker takes a job's due slots with a
compare-and-set on that column (on PostgreSQL it first locks the due jobs
with ``FOR NO KEY UPDATE SKIP LOCKED``, so that racing workers take different
jobs), records one `JobRun` for every slot up to now, queued or skipped with
its reason, and moves `next_run_at` past now through the engine. The unique
constraint on (job, scheduled_for, attempt) stays the backstop.

Misfires (slots more than `misfire_grace_seconds` late, after downtime):

* ``run_once``: the latest missed slot runs, with `missed_slots` counting the
  earlier ones; those are recorded as skipped, folded into it;
* ``skip``: every missed slot is recorded as skipped;
* ``run_all``: the latest `MISFIRE_RUN_ALL_CAP` missed slots run, and any
  earlier ones are recorded as skipped (misfire cap).

A slot at most `misfire_grace_seconds` late is not a misfire: it simply runs.
"""

from __future__ import annotations

import functools
import logging
import operator
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When

from jobs import schedule as engine
from jobs.models import Job, JobRun
from jobs.services import probes
from jobs.wakeup import wakeup_notify

logger = logging.getLogger(__name__)

# Due jobs taken per transaction: bounds the work of one step, whatever the
# number of defined jobs.
DUE_BATCH = 50
# Slots of one job recorded per step; a longer backlog continues next step.
SLOT_SCAN_LIMIT = 1000
MISFIRE_RUN_ALL_CAP = 100

MSG_MISFIRE_SKIPPED = "Missed while no worker was running (misfire policy: skip)."
MSG_MISFIRE_COALESCED = (
    "Missed while no worker was running; folded into one run for the latest "
    "missed slot (misfire policy: run once)."
)
MSG_MISFIRE_CAP = (
    "Missed while no worker was running; only the latest {cap} missed slots "
    "run (misfire cap)."
)
MSG_FORBID = "Previous run still running (concurrency policy: forbid)."
MSG_REPLACED = "Replaced by the run for {slot} (concurrency policy: replace)."
MSG_SCHEDULE_FAILED = "The schedule could not be computed: {error}"

ACTIVE = (JobRun.Status.QUEUED, JobRun.Status.RUNNING)


@dataclass(frozen=True)
class SlotPlan:
    """What to record for one slot: a run, or a skip with its reason."""

    scheduled_for: datetime
    is_run: bool
    reason: str = ""
    missed_slots: int = 0
    is_blocked: bool = False
    is_misfire: bool = False


@dataclass(frozen=True)
class DueBatch:
    """What one scheduling step did; `is_behind`: due slots remain."""

    jobs: int = 0
    slots: int = 0
    queued: int = 0
    is_behind: bool = False

    def __add__(self, other: DueBatch) -> DueBatch:
        """Return the sum of two steps."""
        return DueBatch(
            jobs=self.jobs + other.jobs,
            slots=self.slots + other.slots,
            queued=self.queued + other.queued,
            is_behind=self.is_behind or other.is_behind,
        )


def plan_slots(
    slots: Sequence[datetime],
    *,
    now: datetime,
    policy: str,
    grace_seconds: float,
    cap: int = MISFIRE_RUN_ALL_CAP,
    has_more: bool = False,
) -> list[SlotPlan]:
    """Decide the outcome of each due slot, oldest first; pure.

    `slots` are consecutive due slots in order. With `has_more`, more due
    slots follow them; then the plan may cover only a prefix of `slots`, and
    the caller resumes at the first slot left out, because the latest missed
    slots (which run under ``run_once`` and ``run_all``) may lie further on.
    """
    missed = [s for s in slots if (now - s).total_seconds() > grace_seconds]
    on_time = list(slots[len(missed) :])
    keep = 0
    if has_more and not on_time:
        if policy == Job.MisfirePolicy.RUN_ONCE:
            keep = 1
        elif policy == Job.MisfirePolicy.RUN_ALL:
            keep = cap
        keep = min(keep, len(missed) - 1)  # always make progress
    closed = missed[: len(missed) - keep]
    plans: list[SlotPlan] = []
    if policy == Job.MisfirePolicy.SKIP:
        plans += [SlotPlan(s, is_run=False, reason=MSG_MISFIRE_SKIPPED) for s in closed]
    elif policy == Job.MisfirePolicy.RUN_ALL:
        running = closed[-cap:] if not keep else []
        skipped = closed[: len(closed) - len(running)]
        reason = MSG_MISFIRE_CAP.format(cap=cap)
        plans += [SlotPlan(s, is_run=False, reason=reason) for s in skipped]
        plans += [SlotPlan(s, is_run=True, is_misfire=True) for s in running]
    elif closed:
        folded = closed if keep else closed[:-1]
        reason = MSG_MISFIRE_COALESCED
        plans += [SlotPlan(s, is_run=False, reason=reason) for s in folded]
        if not keep:
            last = SlotPlan(
                closed[-1], is_run=True, missed_slots=len(folded), is_misfire=True
            )
            plans.append(last)
    plans += [SlotPlan(s, is_run=True) for s in on_time]
    return plans


def jobs_due(*, now: datetime) -> QuerySet[Job]:
    """Return active jobs whose next slot is due, highest priority first.

    The filter is served by the (is_active, next_run_at) index, so its cost
    follows the number of due jobs, not of defined ones.
    """
    return Job.objects.filter(is_active=True, next_run_at__lte=now).order_by(
        "-priority", "next_run_at", "pk"
    )


def next_due_at(*, after: datetime, lead: timedelta = timedelta(0)) -> datetime | None:
    """Return when something is next to do after `after`.

    That is the earliest queued run's `not_before`, or `lead` before the
    earliest slot (slots are recorded that much ahead). Both reads follow an
    index ((is_active, next_run_at) and (status, not_before)) and stop at the
    first row.
    """
    slot = probes.next_slot_at(after=after)
    candidates = (
        None if slot is None else slot - lead,
        probes.next_queued_at(after=after),
    )
    return min((at for at in candidates if at is not None), default=None)


def slots_schedule_due(
    *, now: datetime, horizon: datetime | None = None, limit: int = DUE_BATCH
) -> DueBatch:
    """Record the due slots of up to `limit` due jobs as runs or skips.

    Slots up to `horizon` (default: `now`) are recorded: a slot a moment
    ahead becomes a queued run that may not start before its instant, so
    that only the claim is left to do when it comes. Lateness and the
    concurrency policy are judged at `now`.
    """
    horizon = horizon or now
    # A plain read first: an idle cycle takes no write lock (SQLite) and
    # starts no transaction.
    if not probes.any_job_due(now=horizon):
        return DueBatch()
    with transaction.atomic():
        due = jobs_due(now=horizon)
        if connection.features.has_select_for_update_skip_locked:
            no_key = connection.features.has_select_for_no_key_update
            due = due.select_for_update(skip_locked=True, no_key=no_key)
        jobs = list(due.prefetch_related("schedules")[:limit])
        try:
            with transaction.atomic():
                total = _schedule_jobs(jobs, now=now, horizon=horizon)
        except (IntegrityError, _LostRace) as exc:
            # A slot already has a run (a manual run at that very instant,
            # say), or a job moved on meanwhile: one job at a time instead.
            logger.warning("Scheduling job by job: %s", exc)
            total = DueBatch()
            for job in jobs:
                total += _schedule_job_alone(job, now=now, horizon=horizon)
    if total.queued:
        wakeup_notify()
    return total + DueBatch(jobs=len(jobs), is_behind=len(jobs) >= limit)


class _LostRace(Exception):
    """A due job's next slot changed while it was being scheduled."""


def _schedule_jobs(
    jobs: list[Job], *, now: datetime, horizon: datetime, one_by_one: bool = False
) -> DueBatch:
    """Record the due slots of `jobs` with a fixed number of statements.

    Compare-and-set on `next_run_at`: only the worker that moves it on
    records the slots. In a batch the jobs are this transaction's alone
    (locked on PostgreSQL; SQLite writes one transaction at a time), so a
    failed compare means that promise broke: nothing is written and the
    caller goes job by job. For one job it means another worker took the
    slot first. With `one_by_one`, each record is saved alone and a slot
    that already has a run is left out.
    """
    planned = [(job, *_plan_job(job, now=now, horizon=horizon)) for job in jobs]
    moves = {
        job.pk: (job.next_run_at, next_run_at, error)
        for job, _, next_run_at, error in planned
    }
    if not moves:
        return DueBatch()
    next_field = Job._meta.get_field("next_run_at")
    fields: dict[str, Case] = {
        "next_run_at": Case(
            *(
                When(pk=pk, then=Value(new, output_field=next_field))
                for pk, (_, new, _) in moves.items()
            ),
            default=F("next_run_at"),
            output_field=next_field,
        )
    }
    errors = {pk: error for pk, (_, _, error) in moves.items() if error}
    if errors:
        fields["schedule_error"] = Case(
            *(When(pk=pk, then=Value(error)) for pk, error in errors.items()),
            default=F("schedule_error"),
            output_field=Job._meta.get_field("schedule_error"),
        )
    expected = functools.reduce(
        operator.or_, (Q(pk=pk, next_run_at=old) for pk, (old, _, _) in moves.items())
    )
    won = Job.objects.filter(expected).update(**fields)
    if won != len(moves):
        if len(moves) == 1:
            logger.debug("Job %s: another worker took its slot", jobs[0].pk)
            return DueBatch()
        raise _LostRace(f"{len(moves) - won} of {len(moves)} jobs moved on")
    active = _active_runs([job for job, *_ in planned])
    records: list[JobRun] = []
    behind = False
    for job, plans, next_run_at, _ in planned:
        plans = _apply_concurrency(job, plans, now=now, active=active.get(job.pk, []))
        records += [_record(job, plan, now=now) for plan in plans]
        behind = behind or (next_run_at is not None and next_run_at <= horizon)
    if one_by_one:
        records = [record for record in records if _saved_alone(record)]
    else:
        JobRun.objects.bulk_create(records)
    return DueBatch(
        slots=len(records),
        queued=sum(record.status == JobRun.Status.QUEUED for record in records),
        is_behind=behind,
    )


def _active_runs(jobs: list[Job]) -> dict[int, list[JobRun]]:
    """Return the active runs of those `jobs` whose policy looks at them."""
    ids = [j.pk for j in jobs if j.concurrency_policy != Job.ConcurrencyPolicy.ALLOW]
    if not ids:
        return {}
    active: dict[int, list[JobRun]] = {}
    for run in JobRun.objects.filter(
        job_id__in=ids, status__in=ACTIVE, cancel_requested_at__isnull=True
    ).order_by("queued_at", "pk"):
        active.setdefault(run.job_id, []).append(run)
    return active


def _schedule_job_alone(job: Job, *, now: datetime, horizon: datetime) -> DueBatch:
    """Record one job's due slots; on a clash, the slots one by one."""
    try:
        with transaction.atomic():
            return _schedule_jobs([job], now=now, horizon=horizon)
    except IntegrityError as exc:
        logger.warning("Job %s: a due slot is already recorded: %s", job.pk, exc)
        return _schedule_jobs([job], now=now, horizon=horizon, one_by_one=True)


def _saved_alone(record: JobRun) -> bool:
    """Save `record` unless its slot already has a run; True if saved."""
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        logger.warning(
            "Slot %s of job %s already has a run; not adding another",
            record.scheduled_for.isoformat(),
            record.job_id,
        )
        return False
    return True


def _plan_job(
    job: Job, *, now: datetime, horizon: datetime
) -> tuple[list[SlotPlan], datetime | None, str]:
    """Return the plans for `job`'s slots up to `horizon`, its next slot, any error."""
    assert job.next_run_at is not None  # noqa: S101 - jobs_due filters on it
    try:
        schedules = job.parsed_schedules()
        slots, after = _due_slots(schedules, first=job.next_run_at, now=horizon)
    except (engine.ScheduleError, ValueError, OverflowError) as exc:
        # Record the error and stop scheduling the job, rather than failing
        # on it again every step; saving the job recomputes its next run.
        logger.warning("Job %s has an unusable schedule: %s", job.pk, exc)
        reason = MSG_SCHEDULE_FAILED.format(error=exc)
        plan = SlotPlan(job.next_run_at, is_run=False, reason=reason, is_blocked=True)
        return [plan], None, str(exc)
    plans = plan_slots(
        slots,
        now=now,
        policy=job.misfire_policy,
        grace_seconds=job.misfire_grace_seconds,
        cap=MISFIRE_RUN_ALL_CAP,
        has_more=after is not None and after <= horizon,
    )
    next_run_at = slots[len(plans)] if len(plans) < len(slots) else after
    return [_count_folded(job, plan) for plan in plans], next_run_at, ""


def _count_folded(job: Job, plan: SlotPlan) -> SlotPlan:
    """Add slots folded in earlier steps of a long backlog (run once)."""
    if not plan.is_misfire or job.misfire_policy != Job.MisfirePolicy.RUN_ONCE:
        return plan
    # Only after a backlog longer than SLOT_SCAN_LIMIT does the run's slot
    # follow folded slots recorded by an earlier step; count those back to
    # the job's last other record.
    history = JobRun.objects.filter(job=job, scheduled_for__lt=plan.scheduled_for)
    boundary = (
        history.exclude(status=JobRun.Status.SKIPPED, reason=MSG_MISFIRE_COALESCED)
        .order_by("-scheduled_for")
        .values_list("scheduled_for", flat=True)
        .first()
    )
    folded = history.filter(status=JobRun.Status.SKIPPED, reason=MSG_MISFIRE_COALESCED)
    if boundary is not None:
        folded = folded.filter(scheduled_for__gt=boundary)
    earlier = folded.count()
    return replace(plan, missed_slots=plan.missed_slots + earlier) if earlier else plan


def _due_slots(
    schedules: list[engine.Schedule], *, first: datetime, now: datetime
) -> tuple[list[datetime], datetime | None]:
    """Return up to SLOT_SCAN_LIMIT due slots from `first`, and the next one.

    Several schedules firing at one instant give that instant once (the
    engine merges them).
    """
    slots = [first]
    while True:
        fire = engine.next_fire(schedules, slots[-1])
        if fire is None:
            return slots, None
        if fire.at > now or len(slots) >= SLOT_SCAN_LIMIT:
            return slots, fire.at
        slots.append(fire.at)


def _apply_concurrency(
    job: Job,
    plans: list[SlotPlan],
    *,
    now: datetime,
    active: list[JobRun] | None = None,
) -> list[SlotPlan]:
    """Apply the job's concurrency policy to runs planned beside active ones.

    Runs planned in one step (a misfire backlog) queue behind each other;
    the policy looks at the runs that were active before the step (`active`,
    oldest first; read here if not given).
    """
    if not any(plan.is_run for plan in plans):
        return plans
    if job.concurrency_policy == Job.ConcurrencyPolicy.ALLOW:
        return plans
    if active is None:
        active = _active_runs([job]).get(job.pk, [])
    excess = len(active) - job.max_concurrent + 1
    if excess <= 0:
        return plans
    if job.concurrency_policy == Job.ConcurrencyPolicy.FORBID:
        return [
            replace(plan, is_run=False, reason=MSG_FORBID, missed_slots=0)
            if plan.is_run
            else plan
            for plan in plans
        ]
    newest = max(plan.scheduled_for for plan in plans if plan.is_run)
    _replace_runs(active[:excess], slot=newest, now=now)
    return plans


def _replace_runs(runs: list[JobRun], *, slot: datetime, now: datetime) -> None:
    """Cancel queued runs now and ask the workers of running ones to stop."""
    reason = MSG_REPLACED.format(slot=slot.isoformat())
    for run in runs:
        if run.status == JobRun.Status.QUEUED:
            JobRun.objects.filter(pk=run.pk, status=JobRun.Status.QUEUED).update(
                status=JobRun.Status.CANCELLED,
                finished_at=now,
                cancel_requested_at=now,
                reason=reason,
            )
        else:
            JobRun.objects.filter(pk=run.pk, status=JobRun.Status.RUNNING).update(
                cancel_requested_at=now, reason=reason
            )
        logger.info("Run %s of job %s replaced by slot %s", run.pk, run.job_id, slot)
    # The workers running them notice at their next cycle; wake them now.
    wakeup_notify()


def _record(job: Job, plan: SlotPlan, *, now: datetime) -> JobRun:
    """Return the unsaved JobRun that records `plan`."""
    if plan.is_run:
        return JobRun(
            job=job,
            scheduled_for=plan.scheduled_for,
            attempt=1,
            trigger=JobRun.Trigger.SCHEDULE,
            status=JobRun.Status.QUEUED,
            queued_at=now,
            not_before=plan.scheduled_for,
            priority=job.priority,
            missed_slots=plan.missed_slots,
        )
    status = JobRun.Status.BLOCKED if plan.is_blocked else JobRun.Status.SKIPPED
    return JobRun(
        job=job,
        scheduled_for=plan.scheduled_for,
        attempt=1,
        trigger=JobRun.Trigger.SCHEDULE,
        status=status,
        queued_at=now,
        not_before=plan.scheduled_for,
        finished_at=now,
        reason=plan.reason,
    )
