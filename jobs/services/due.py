"""Turn due slots into runs: the database steps of the worker's scheduling half.

A *slot* is one fire instant of a job, and `Job.next_run_at` is the job's
first slot that has no record yet. A worker takes a job's due slots with a
compare-and-set on that column (on PostgreSQL it first locks the due jobs
with ``FOR NO KEY UPDATE SKIP LOCKED``, so that racing workers take different
jobs), records one `JobRun` for every slot up to now, queued or skipped with
its reason, and moves `next_run_at` past now through the engine. The unique
constraint on (job, scheduled_for, attempt) stays the backstop.

What each slot becomes (the misfire and concurrency policies, described in
`jobs.policies`) is decided there, purely; the reads are in
`jobs.selectors`. A slot at most `misfire_grace_seconds` late is not a
misfire: it simply runs.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from jobs import blackout, policies, reasons
from jobs import schedule as engine
from jobs.models import Job, JobRun
from jobs.policies import SlotPlan
from jobs.selectors import blackout_calendars_for, jobs_due, runs_active
from jobs.services import plain_sql, probes
from jobs.services.outcomes import RunEnd, runs_end
from jobs.wakeup import wakeup_notify

logger = logging.getLogger(__name__)

# Due jobs taken per transaction: bounds the work of one step, whatever the
# number of defined jobs.
DUE_BATCH = 50
# Slots of one job recorded per step; a longer backlog continues next step.
SLOT_SCAN_LIMIT = 1000
MISFIRE_RUN_ALL_CAP = 100

MSG_REPLACED = "Replaced by the run for {slot} (concurrency policy: replace)."
MSG_SCHEDULE_FAILED = "The schedule could not be computed: {error}"


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


@dataclass(frozen=True)
class _JobPlan:
    """One due job's plans, its next slot and any schedule error."""

    job: Job
    plans: list[SlotPlan]
    next_run_at: datetime | None
    error: str = ""


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
    calendars = blackout_calendars_for(jobs=jobs)
    planned = [
        _plan_job(job, now=now, horizon=horizon, calendars=calendars[job.pk])
        for job in jobs
    ]
    if not planned:
        return DueBatch()
    won = _move_next_runs(planned)
    if won != len(planned):
        if len(planned) == 1:
            logger.debug("Job %s: another worker took its slot", jobs[0].pk)
            return DueBatch()
        raise _LostRace(f"{len(planned) - won} of {len(planned)} jobs moved on")
    records = _records(planned, now=now)
    if one_by_one:
        records = [record for record in records if _saved_alone(record, now=now)]
    else:
        runs_end(now=now, records=records)
    return DueBatch(
        slots=len(records),
        queued=sum(record.status == JobRun.Status.QUEUED for record in records),
        is_behind=any(_is_behind(p, horizon=horizon) for p in planned),
    )


def _is_behind(planned: _JobPlan, *, horizon: datetime) -> bool:
    """Return True if the job has due slots left for the next step."""
    return planned.next_run_at is not None and planned.next_run_at <= horizon


def _move_next_runs(planned: list[_JobPlan]) -> int:
    """Move the jobs' `next_run_at` on, each a compare-and-set; return how many.

    A job whose `next_run_at` is no longer the one read is left alone.
    """
    updates = []
    for p in planned:
        changes: dict[str, Any] = {"next_run_at": p.next_run_at}
        if p.error:
            changes["schedule_error"] = p.error
        expected = {"next_run_at": p.job.next_run_at}
        updates.append(plain_sql.Update(p.job.pk, expected, changes))
    return plain_sql.update_each(Job, updates)


def _records(planned: list[_JobPlan], *, now: datetime) -> list[JobRun]:
    """Return the unsaved runs for the plans, after the concurrency policies."""
    active = runs_active(jobs=[p.job for p in planned])
    records: list[JobRun] = []
    for p in planned:
        plans = _apply_concurrency(
            p.job, p.plans, now=now, active=active.get(p.job.pk, [])
        )
        records += [_record(p.job, plan, now=now) for plan in plans]
    return records


def _schedule_job_alone(job: Job, *, now: datetime, horizon: datetime) -> DueBatch:
    """Record one job's due slots; on a clash, the slots one by one."""
    try:
        with transaction.atomic():
            return _schedule_jobs([job], now=now, horizon=horizon)
    except IntegrityError as exc:
        logger.warning("Job %s: a due slot is already recorded: %s", job.pk, exc)
        return _schedule_jobs([job], now=now, horizon=horizon, one_by_one=True)


def _saved_alone(record: JobRun, *, now: datetime) -> bool:
    """Save `record` unless its slot already has a run; True if saved."""
    try:
        with transaction.atomic():
            runs_end(now=now, records=[record])
    except IntegrityError:
        logger.warning(
            "Slot %s of job %s already has a run; not adding another",
            record.scheduled_for.isoformat(),
            record.job_id,
        )
        return False
    return True


def _plan_job(
    job: Job,
    *,
    now: datetime,
    horizon: datetime,
    calendars: list[blackout.Calendar],
) -> _JobPlan:
    """Return the plans for `job`'s slots up to `horizon`, its next slot, any error.

    A slot inside one of `calendars`' blackout windows is skipped or
    deferred to the window's end, as the job says (`jobs.blackout`).
    """
    assert job.next_run_at is not None  # noqa: S101 - jobs_due filters on it
    try:
        schedules = job.parsed_schedules()
        slots, after = _due_slots(schedules, first=job.next_run_at, now=horizon)
    except (engine.ScheduleError, ValueError, OverflowError) as exc:
        # Record the error and stop scheduling the job, rather than failing
        # on it again every step; saving the job recomputes its next run.
        logger.warning("Job %s has an unusable schedule: %s", job.pk, exc)
        plan = SlotPlan(
            job.next_run_at,
            is_run=False,
            reason=MSG_SCHEDULE_FAILED.format(error=exc),
            reason_code=reasons.SCHEDULE_ERROR,
            is_blocked=True,
        )
        return _JobPlan(job, [plan], None, str(exc))
    plans = policies.plan_slots(
        slots,
        now=now,
        policy=job.misfire_policy,
        grace_seconds=job.misfire_grace_seconds,
        cap=MISFIRE_RUN_ALL_CAP,
        has_more=after is not None and after <= horizon,
    )
    next_run_at = slots[len(plans)] if len(plans) < len(slots) else after
    plans = blackout.plans_blackout(
        plans,
        calendars,
        action=job.blackout_action,
        is_deferred=functools.partial(_has_deferred_run, job),
    )
    return _JobPlan(job, [_count_folded(job, plan) for plan in plans], next_run_at)


def _has_deferred_run(job: Job, hit: blackout.Hit) -> bool:
    """Return True if a slot inside the window already waits for its end."""
    return JobRun.objects.filter(
        job=job,
        scheduled_for__gte=hit.start,
        scheduled_for__lt=hit.end,
        not_before=hit.end,
    ).exists()


def _count_folded(job: Job, plan: SlotPlan) -> SlotPlan:
    """Add slots folded in earlier steps of a long backlog (run once)."""
    if not plan.is_misfire or job.misfire_policy != Job.MisfirePolicy.RUN_ONCE:
        return plan
    # Only after a backlog longer than SLOT_SCAN_LIMIT does the run's slot
    # follow folded slots recorded by an earlier step; count those back to
    # the job's last other record.
    history = JobRun.objects.filter(job=job, scheduled_for__lt=plan.scheduled_for)
    is_folded = Q(
        status=JobRun.Status.SKIPPED, reason_code=JobRun.ReasonCode.MISFIRE_FOLDED
    )
    boundary = (
        history.exclude(is_folded)
        .order_by("-scheduled_for")
        .values_list("scheduled_for", flat=True)
        .first()
    )
    folded = history.filter(is_folded)
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
    job: Job, plans: list[SlotPlan], *, now: datetime, active: list[JobRun]
) -> list[SlotPlan]:
    """Apply the job's concurrency policy; replace the active runs it says to."""
    plans, to_replace = policies.apply_concurrency(
        plans, active, job.concurrency_policy, job.max_concurrent
    )
    if to_replace:
        newest = max(plan.scheduled_for for plan in plans if plan.is_run)
        _replace_runs(to_replace, slot=newest, now=now)
    return plans


def _replace_runs(runs: list[JobRun], *, slot: datetime, now: datetime) -> None:
    """Cancel queued runs now and ask the workers of running ones to stop."""
    reason = MSG_REPLACED.format(slot=slot.isoformat())
    code = JobRun.ReasonCode.REPLACED
    for run in runs:
        if run.status == JobRun.Status.QUEUED:
            changes = {
                "status": JobRun.Status.CANCELLED,
                "finished_at": now,
                "cancel_requested_at": now,
                "reason": reason,
                "reason_code": code,
            }
            expected = {"status": JobRun.Status.QUEUED}
            runs_end(now=now, end=RunEnd(run, expected, changes))
        else:
            JobRun.objects.filter(pk=run.pk, status=JobRun.Status.RUNNING).update(
                cancel_requested_at=now, reason=reason, reason_code=code
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
            not_before=plan.not_before or plan.scheduled_for,
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
        reason_code=plan.reason_code,
    )
