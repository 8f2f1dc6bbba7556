"""Read a job's slot timeline: the engine's slots merged with its run rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from jobs import schedule as engine
from jobs import timeline
from jobs.models import Job, JobRun

# Slots listed at most per request (an every-minute job makes 1440 a day).
MAX_SLOTS = 1500
MAX_RANGE = timedelta(days=93)
RUN_FIELDS = (
    "pk",
    "scheduled_for",
    "attempt",
    "status",
    "trigger",
    "reason",
    "reason_code",
    "not_before",
    "started_at",
    "finished_at",
    "missed_slots",
)


@dataclass(frozen=True)
class Timeline:
    """A job's entries from `since` to `until`; `truncated` past MAX_SLOTS."""

    job: Job
    since: datetime
    until: datetime
    entries: list[timeline.Entry]
    truncated: bool
    schedule_error: str


def job_slots(
    job: Job, *, since: datetime, until: datetime
) -> tuple[list[timeline.Slot], bool, str]:
    """Return the job's slots in [since, until), whether cut short, any error."""
    try:
        schedules = job.parsed_schedules()
    except engine.ScheduleError as exc:
        return [], False, str(exc)
    slots: list[timeline.Slot] = []
    cursor = since - timedelta(microseconds=1)
    while len(slots) < MAX_SLOTS:
        fire = engine.next_fire(schedules, cursor)
        if fire is None or fire.at >= until:
            return slots, False, ""
        slots.append(
            timeline.Slot(at=fire.at, local=fire.local, moved_from=fire.moved_from)
        )
        cursor = fire.at
    return slots, True, ""


def job_timeline(
    *, job: Job, since: datetime, until: datetime, now: datetime
) -> Timeline:
    """Return every slot of `job` in [since, until) with its outcome."""
    slots, truncated, error = job_slots(job, since=since, until=until)
    if truncated and slots:
        # Runs past the last listed slot belong to the part not shown.
        until = slots[-1].at + timedelta(microseconds=1)
    rows = JobRun.objects.filter(
        job=job, scheduled_for__gte=since, scheduled_for__lt=until
    ).values_list(*RUN_FIELDS)
    runs = [timeline.RunRow(*row) for row in rows]
    entries = timeline.build_timeline(
        slots=slots,
        runs=runs,
        now=now,
        grace_seconds=job.misfire_grace_seconds,
        created_at=job.created_at,
    )
    return Timeline(
        job=job,
        since=since,
        until=until,
        entries=entries,
        truncated=truncated,
        schedule_error=error,
    )
