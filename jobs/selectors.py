"""Reads that span relations or need tuned querysets (admin, API, commands)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Subquery
from guardian.models import GroupObjectPermission, UserObjectPermission

from jobs import blackout, conf, dst, reasons
from jobs import schedule as engine
from jobs.models import (
    BlackoutCalendar,
    Job,
    JobDependency,
    JobRun,
    Schedule,
    Script,
    Worker,
)
from jobs.permissions import JOB_OBJECT_PERMISSIONS
from jobs.script_content import ScriptFile, read_script
from jobs.script_files import script_resolve
from jobs.script_paths import ScriptPathError
from jobs.services import probes
from jobs.services.approval import script_block_message

logger = logging.getLogger(__name__)

MSG_UNREADABLE = "The file cannot be read: {error}"
# The "never run" choice of the last-status filter; not a JobRun status.
NEVER_RUN = "never"


def jobs_with_last_run(queryset: QuerySet[Job]) -> QuerySet[Job]:
    """Annotate each job with its latest run's `last_run_status` and `_id`.

    The latest run is the one for the latest slot (and its latest attempt),
    which the (job, -scheduled_for) index serves without sorting every run.
    Schedules are prefetched so that describing them costs one query.
    """
    latest = JobRun.objects.filter(job=OuterRef("pk")).order_by(
        "-scheduled_for", "-attempt", "-pk"
    )
    return queryset.annotate(
        last_run_status=Subquery(latest.values("status")[:1]),
        last_run_id=Subquery(latest.values("pk")[:1]),
    ).prefetch_related("schedules")


def jobs_with_last_status(queryset: QuerySet[Job], *, status: str) -> QuerySet[Job]:
    """Keep the jobs whose latest run has `status` (or never ran: NEVER_RUN).

    `queryset` must come from `jobs_with_last_run`.
    """
    # django-stubs checks lookups against the model's fields only; it cannot
    # see the annotation `jobs_with_last_run` added in another function.
    if status == NEVER_RUN:
        return queryset.filter(last_run_status__isnull=True)  # type: ignore[misc]
    return queryset.filter(last_run_status=status)  # type: ignore[misc]


def jobs_with_schedule_type(queryset: QuerySet[Job], *, kind: str) -> QuerySet[Job]:
    """Keep the jobs that have at least one schedule of type `kind`."""
    of_kind = Schedule.objects.filter(job=OuterRef("pk"), document__type=kind)
    return queryset.filter(Exists(of_kind))


def schedule_fire_times(
    *,
    documents: Sequence[Any],
    timezone: str,
    after: datetime,
    count: int,
) -> list[engine.FireTime]:
    """Return the next `count` distinct fire instants of `documents` after `after`.

    An interval without a start (a schedule not saved yet) counts from
    `after`. Raise `jobs.schedule.ScheduleError` when a document (or
    `timezone`) is invalid.
    """
    schedules = [
        engine.anchored(
            engine.parse_schedule(document, default_timezone=timezone), after
        )
        for document in documents
    ]
    return engine.merged_fire_times(schedules, after, count)


def job_upcoming_fire_times(
    *, job: Job, after: datetime, count: int
) -> list[engine.FireTime]:
    """Return the saved job's next `count` fire instants after `after`.

    An inactive job still answers, so that the admin can show what would run.
    """
    return schedule_fire_times(
        documents=job.schedule_documents(),
        timezone=job.timezone,
        after=after,
        count=count,
    )


# --- health (GET /api/health) -------------------------------------------------

STATUS_OK = "ok"
STATUS_UNHEALTHY = "unhealthy"
MSG_DATABASE_DOWN = "The database is unreachable."
MSG_NO_WORKER_ALIVE = (
    "No worker is alive: none heart-beat in the last {seconds:g} seconds."
)
# Workers that crashed stay listed (not alive) until their row is deleted;
# a bound keeps the answer small all the same.
MAX_WORKERS = 100


def health_report(*, now: datetime, lost_after_seconds: float) -> dict[str, Any]:
    """Return the portal's health as of `now`, catching a database failure."""
    try:
        workers = list(
            Worker.objects.filter(stopped_at__isnull=True).order_by(
                "-last_heartbeat_at", "name"
            )[:MAX_WORKERS]
        )
        last_cycle_at = Worker.objects.aggregate(at=Max("last_cycle_at"))["at"]
        active = (
            JobRun.objects.filter(
                status__in=(JobRun.Status.QUEUED, JobRun.Status.RUNNING)
            )
            .values_list("status")
            .annotate(count=Count("pk"))
            .order_by()
        )
        counts = dict(active)
    except DatabaseError as exc:
        # One line per check: monitors poll often during an outage.
        logger.warning("Health check: the database is unreachable: %s", exc)
        return {
            "status": STATUS_UNHEALTHY,
            "problems": [MSG_DATABASE_DOWN],
            "database": {"ok": False, "error": MSG_DATABASE_DOWN},
            "workers": [],
            "last_cycle_at": None,
            "runs": None,
        }
    cutoff = now - timedelta(seconds=lost_after_seconds)
    listed = [
        {
            "name": worker.name,
            "host": worker.host,
            "last_heartbeat_at": worker.last_heartbeat_at,
            "last_cycle_at": worker.last_cycle_at,
            "alive": worker.last_heartbeat_at >= cutoff,
        }
        for worker in workers
    ]
    problems = []
    if not any(worker["alive"] for worker in listed):
        problems.append(MSG_NO_WORKER_ALIVE.format(seconds=lost_after_seconds))
    return {
        "status": STATUS_UNHEALTHY if problems else STATUS_OK,
        "problems": problems,
        "database": {"ok": True, "error": None},
        "workers": listed,
        "last_cycle_at": last_cycle_at,
        "runs": {
            "queued": counts.get(JobRun.Status.QUEUED, 0),
            "running": counts.get(JobRun.Status.RUNNING, 0),
        },
    }


# --- scheduling reads (the worker's due step) ------------------------------------

ACTIVE = (JobRun.Status.QUEUED, JobRun.Status.RUNNING)


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
    slot, queued = probes.next_instants(after=after)
    candidates = (None if slot is None else slot - lead, queued)
    return min((at for at in candidates if at is not None), default=None)


def blackout_calendars_for(
    *, jobs: Sequence[Job]
) -> dict[int, list[blackout.Calendar]]:
    """Return each job's blackout calendars: the global ones, then its own.

    A fixed number of queries whatever the number of jobs; a job without
    calendars maps to an empty list.
    """
    links = list(
        BlackoutCalendar.jobs.through.objects.filter(
            job_id__in=[job.pk for job in jobs]
        ).values_list("job_id", "blackoutcalendar_id")
    )
    rows = BlackoutCalendar.objects.filter(
        Q(is_global=True) | Q(pk__in={calendar for _, calendar in links})
    ).prefetch_related("windows")
    calendars = {row.pk: (row.is_global, row.as_calendar()) for row in rows}
    shared = [calendar for is_global, calendar in calendars.values() if is_global]
    own: dict[int, list[blackout.Calendar]] = {job.pk: [] for job in jobs}
    for job_id, pk in links:
        is_global, calendar = calendars[pk]
        if not is_global:
            own[job_id].append(calendar)
    return {job.pk: shared + own[job.pk] for job in jobs}


def blackout_calendars_named(
    names: Sequence[str],
) -> tuple[list[blackout.Calendar], list[str]]:
    """Return the global calendars and those named, and the unknown names."""
    rows = BlackoutCalendar.objects.filter(
        Q(is_global=True) | Q(name__in=names)
    ).prefetch_related("windows")
    calendars = [row.as_calendar() for row in rows]
    known = {calendar.name for calendar in calendars}
    return calendars, sorted(set(names) - known)


def runs_active(*, jobs: Sequence[Job]) -> dict[int, list[JobRun]]:
    """Return the active runs of those `jobs` whose policy looks at them.

    Queued or running and not being cancelled, oldest first, by job id.
    """
    ids = [j.pk for j in jobs if j.concurrency_policy != Job.ConcurrencyPolicy.ALLOW]
    if not ids:
        return {}
    active: dict[int, list[JobRun]] = {}
    for run in JobRun.objects.filter(
        job_id__in=ids, status__in=ACTIVE, cancel_requested_at__isnull=True
    ).order_by("queued_at", "pk"):
        active.setdefault(run.job_id, []).append(run)
    return active


def script_current_file(script: Script) -> ScriptFile | str:
    """Return the script's file as it is now, or why it cannot be read."""
    try:
        return read_script(script_resolve(script.path))
    except (ScriptPathError, OSError) as exc:
        return MSG_UNREADABLE.format(error=getattr(exc, "strerror", None) or exc)


@dataclass(frozen=True)
class JobGrant:
    """The per-job rights granted to one user or group on one job."""

    grantee: User | Group
    rights: tuple[str, ...]

    @property
    def is_group(self) -> bool:
        """Return True if the grantee is a group."""
        return isinstance(self.grantee, Group)


def job_grants(job: Job) -> list[JobGrant]:
    """Return who was granted what on `job`: users first, then groups, by name."""
    filters = {
        "content_type": ContentType.objects.get_for_model(Job),
        "object_pk": str(job.pk),
        "permission__codename__in": JOB_OBJECT_PERMISSIONS,
    }
    by_user: dict[int, tuple[Any, set[str]]] = {}
    for row in UserObjectPermission.objects.filter(**filters).select_related(
        "user", "permission"
    ):
        by_user.setdefault(row.user_id, (row.user, set()))[1].add(
            row.permission.codename
        )
    by_group: dict[int, tuple[Any, set[str]]] = {}
    for group_row in GroupObjectPermission.objects.filter(**filters).select_related(
        "group", "permission"
    ):
        by_group.setdefault(group_row.group_id, (group_row.group, set()))[1].add(
            group_row.permission.codename
        )
    order = {codename: i for i, codename in enumerate(JOB_OBJECT_PERMISSIONS)}
    users = sorted(by_user.values(), key=lambda item: item[0].get_username())
    groups = sorted(by_group.values(), key=lambda item: item[0].name)
    return [
        JobGrant(grantee, tuple(sorted(rights, key=order.__getitem__)))
        for grantee, rights in [*users, *groups]
    ]


@dataclass(frozen=True)
class ScriptBlock:
    """Why a job's script may not run, as the script registry knows it now."""

    reason: str
    code: str
    script_id: int | None


MSG_SCRIPT_NOT_REGISTERED = (
    "Script {path!r} is not registered yet: sync the scripts, then review it."
)
MSG_SCRIPT_MISSING = "Script {path!r} is missing from the scripts directory."


def script_blocks(*, paths: Iterable[str]) -> dict[str, ScriptBlock]:
    """Return why each of `paths` may not run; runnable paths are left out.

    The one answer to "is this job's script runnable, and why not" for the
    job list, the job page and "Run now" (admin and API). It reads the
    registry (one query, no hashing): the worker still hashes the file right
    before each run and blocks content changed since the last sync.
    """
    wanted = set(paths)
    scripts = {s.path: s for s in Script.objects.filter(path__in=wanted)}
    required = conf.require_script_approval()
    blocks = {}
    for path in wanted:
        block = _script_block(path, scripts.get(path), required=required)
        if block is not None:
            blocks[path] = block
    return blocks


def job_script_block(*, job: Job) -> ScriptBlock | None:
    """Return why `job`'s script may not run, or None (see `script_blocks`)."""
    return script_blocks(paths=[job.script]).get(job.script)


def _script_block(
    path: str, script: Script | None, *, required: bool
) -> ScriptBlock | None:
    if script is not None and script.is_missing:
        return ScriptBlock(
            MSG_SCRIPT_MISSING.format(path=path), reasons.PATH_REFUSED, script.pk
        )
    if not required:
        return None
    if script is None:
        return ScriptBlock(
            MSG_SCRIPT_NOT_REGISTERED.format(path=path),
            reasons.SCRIPT_UNAPPROVED,
            None,
        )
    if script.is_runnable:
        return None
    code = (
        reasons.SCRIPT_REJECTED
        if script.status == Script.Status.REJECTED
        else reasons.SCRIPT_UNAPPROVED
    )
    return ScriptBlock(script_block_message(script), code, script.pk)


@dataclass(frozen=True)
class FireTimesPreview:
    """A job's fire times from a chosen instant, and the DST change looked at."""

    after: datetime
    fire_times: list[engine.FireTime]
    change: dst.OffsetChange | None


def job_fire_times_preview(
    *,
    job: Job,
    start: date | None,
    count: int,
    now: datetime,
    next_dst: bool = False,
) -> FireTimesPreview:
    """Return `job`'s next `count` fire times from local date `start` (or now).

    With `next_dst`, start the day before the next UTC offset change of the
    job's zone after `now` (the change is returned too; None if the zone has
    none). Raise `jobs.schedule.ScheduleError` for a broken schedule.
    """
    zone = engine.parse_timezone(job.timezone)
    change = dst.next_offset_change(zone, now) if next_dst else None
    if change is not None:
        start = change.at.astimezone(zone).date() - timedelta(days=1)
    after = now
    if start is not None:
        # Strictly after: one microsecond before local midnight keeps a
        # fire at 00:00 that day.
        midnight = datetime.combine(start, time.min, tzinfo=zone)
        after = midnight.astimezone(UTC) - timedelta(microseconds=1)
    fires = job_upcoming_fire_times(job=job, after=after, count=count)
    return FireTimesPreview(after=after, fire_times=fires, change=change)


RECENT_RUNS = 20


def job_recent_runs(*, job: Job, limit: int = RECENT_RUNS) -> list[JobRun]:
    """Return `job`'s latest runs, newest slot and attempt first."""
    return list(
        JobRun.objects.filter(job=job)
        .select_related("worker", "triggered_by")
        .order_by("-scheduled_for", "-attempt", "-pk")[:limit]
    )


@dataclass(frozen=True)
class PipelineEdge:
    """`downstream` runs after `upstream` (job ids), within `window_hours`."""

    upstream: int
    downstream: int
    window_hours: int | None


@dataclass(frozen=True)
class Pipeline:
    """A job with every job upstream and downstream of it that one may see.

    `jobs` are annotated like `jobs_with_last_run` (last status and run),
    the job itself first, then by name.
    """

    job: Job
    jobs: list[Job]
    edges: list[PipelineEdge]


def job_pipeline(*, job: Job, visible: QuerySet[Job]) -> Pipeline:
    """Return `job`'s pipeline: its upstream and downstream jobs, all levels.

    Only jobs in `visible` appear; an edge to a job not shown is left out,
    and the walk does not pass through it.
    """
    shown = set(visible.values_list("pk", flat=True))
    rows = list(
        JobDependency.objects.values_list("depends_on_id", "job_id", "window_hours")
    )
    ups: dict[int, list[int]] = {}
    downs: dict[int, list[int]] = {}
    for up, down, _ in rows:
        ups.setdefault(down, []).append(up)
        downs.setdefault(up, []).append(down)
    members = {job.pk} | _reach(job.pk, ups, shown) | _reach(job.pk, downs, shown)
    jobs = list(jobs_with_last_run(Job.objects.filter(pk__in=members)).order_by("name"))
    jobs.sort(key=lambda j: j.pk != job.pk)
    edges = [
        PipelineEdge(up, down, window)
        for up, down, window in sorted(rows, key=lambda r: (r[0], r[1]))
        if up in members and down in members
    ]
    return Pipeline(job=job, jobs=jobs, edges=edges)


def _reach(start: int, links: dict[int, list[int]], shown: set[int]) -> set[int]:
    """Return the shown jobs reachable from `start` along `links`."""
    seen: set[int] = set()
    stack = [start]
    while stack:
        for following in links.get(stack.pop(), []):
            if following in shown and following not in seen:
                seen.add(following)
                stack.append(following)
    return seen
