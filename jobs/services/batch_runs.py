"""Queue many runs at once: `POST /api/runs` and the admin's "Run selected jobs now".

Every item is checked as "run now" checks one run (the caller checks the
right to run each job and its parameters); the runs are then written in one
transaction with one audit event, or none is written at all.
`jobs_run_now` leaves out the jobs whose script may not run and queues the
others the same way, as one batch of manual runs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from accounts.actors import Actor, actor_user
from accounts.models import AuditEvent
from accounts.services.audit import AuditTarget, audit_record
from jobs.errors import JobsError
from jobs.models import Job, JobRun
from jobs.selectors import ScriptBlock, script_blocks
from jobs.services.runs import MSG_NOT_RUNNABLE
from jobs.wakeup import wakeup_notify

logger = logging.getLogger(__name__)

# Enough for a burst; a bigger one is several requests.
MAX_BATCH_RUNS = 1000
BATCH_TARGET_TYPE = "jobs.runbatch"
MSG_BATCH_REPR = "{count} runs of {jobs} job(s)"
_ONE_MICROSECOND = timedelta(microseconds=1)


class BatchItemError(JobsError, ValueError):
    """One item of a batch cannot be queued; `index` and `field` name it."""

    def __init__(self, index: int, field: str, message: str) -> None:
        super().__init__(f"item {index}: {field}: {message}")
        self.index = index
        self.field = field
        self.message = message


@dataclass(frozen=True)
class BatchRun:
    """One run asked for: its job, checked parameters and earliest start."""

    job: Job
    parameters: dict[str, Any] = field(default_factory=dict)
    not_before: datetime | None = None


@dataclass(frozen=True)
class RunNowBatch:
    """What `jobs_run_now` did: the runs queued, the jobs refused and why."""

    runs: list[JobRun]
    refused: list[tuple[Job, ScriptBlock]]


def jobs_run_now(
    *,
    jobs: Sequence[Job],
    requested_by: Actor,
    now: datetime,
    ip: str | None = None,
) -> RunNowBatch:
    """Queue a manual run of each job whose script may run, as one batch.

    The runs are those `job_run_now` queues (now, default parameters, the
    job's priority, triggered by `requested_by`), written by
    `runs_queue_batch` in one transaction with one audit event. A job whose
    script may not run is refused with the reason instead; the caller checks
    the right to run each job. A script blocked between this check and
    `runs_queue_batch`'s raises its `BatchItemError`: nothing is queued.
    """
    blocks = script_blocks(paths={job.script for job in jobs})
    refused = [(job, blocks[job.script]) for job in jobs if job.script in blocks]
    items = [BatchRun(job) for job in jobs if job.script not in blocks]
    runs = (
        runs_queue_batch(
            items=items,
            requested_by=requested_by,
            now=now,
            ip=ip,
            trigger=JobRun.Trigger.MANUAL,
        )
        if items
        else []
    )
    return RunNowBatch(runs=runs, refused=refused)


def runs_queue_batch(
    *,
    items: Sequence[BatchRun],
    requested_by: Actor,
    now: datetime,
    ip: str | None = None,
    trigger: str = JobRun.Trigger.API,
) -> list[JobRun]:
    """Queue a run for each item, all or none, and return them in item order.

    A run starts at its `not_before` (never before `now`) and records
    `trigger`. Raise `BatchItemError` naming the first item whose job's
    script may not run, before anything is written. One audit event ("run")
    lists the runs.
    """
    blocks = script_blocks(paths={item.job.script for item in items})
    for index, item in enumerate(items):
        block = blocks.get(item.job.script)
        if block is not None:
            raise BatchItemError(
                index, "job", MSG_NOT_RUNNABLE.format(reason=block.reason)
            )
    user = actor_user(requested_by)
    slots = _slots(items, now=now)
    runs = [
        JobRun(
            job=item.job,
            scheduled_for=slot,
            attempt=1,
            trigger=trigger,
            status=JobRun.Status.QUEUED,
            queued_at=now,
            not_before=slot,
            priority=item.job.priority,
            triggered_by=user,
            parameters=item.parameters,
        )
        for item, slot in zip(items, slots, strict=True)
    ]
    job_ids = sorted({item.job.pk for item in items})
    with transaction.atomic():
        created = JobRun.objects.bulk_create(runs)
        audit_record(
            actor=requested_by,
            action=AuditEvent.Action.RUN,
            target=AuditTarget(
                type=BATCH_TARGET_TYPE,
                id="",
                repr=MSG_BATCH_REPR.format(count=len(runs), jobs=len(job_ids)),
            ),
            changes={
                "runs": [None, [run.pk for run in created]],
                "jobs": [None, job_ids],
            },
            ip=ip,
            now=now,
        )
    wakeup_notify()
    logger.info("%s runs of %s jobs queued by %s", len(runs), len(job_ids), user)
    return created


def _slots(items: Sequence[BatchRun], *, now: datetime) -> list[datetime]:
    """Return each run's slot: its start, moved on a microsecond if taken.

    A job has one run per slot (`jobrun_one_per_slot`); several runs of one
    job for the same instant get consecutive microseconds instead.
    """
    wanted = [max(item.not_before or now, now) for item in items]
    taken = set(
        JobRun.objects.filter(
            job_id__in={item.job.pk for item in items},
            scheduled_for__gte=min(wanted, default=now),
            scheduled_for__lte=max(wanted, default=now) + _ONE_MICROSECOND * len(items),
            attempt=1,
        ).values_list("job_id", "scheduled_for")
    )
    slots = []
    for item, slot in zip(items, wanted, strict=True):
        while (item.job.pk, slot) in taken:
            slot += _ONE_MICROSECOND
        taken.add((item.job.pk, slot))
        slots.append(slot)
    return slots
