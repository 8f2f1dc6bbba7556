"""Import a legacy portal database: its jobs and their run history.

Everything is written in one transaction: any failure writes nothing. Jobs
are saved with `job_save` (validation, script registration for review, a
job version and an audit event by the `import_legacy` user); runs are
inserted in batches as they are read, through `outcomes.runs_end` as
history (no run events). Legacy ids are kept (`Job.legacy_id`,
`JobRun.legacy_id`), so running the import again adds only what is new.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from jobs import legacy_mapping as rules
from jobs import reasons
from jobs.errors import JobsError
from jobs.legacy_source import LegacySource
from jobs.models import Job, JobRun
from jobs.services.jobs import job_save
from jobs.services.outcomes import runs_end

logger = logging.getLogger(__name__)

ACTOR_USERNAME = "import_legacy"
NAME_MAX = 200
STATUSES = (JobRun.Status.SUCCEEDED, JobRun.Status.FAILED, JobRun.Status.TIMED_OUT)
DESCRIPTION = "Imported from the legacy portal (job {id}). Legacy script path: {path}"
DESCRIPTION_ARGS = "\nLegacy arguments: {raw}"
REASON = "Legacy status {status}."
MSG_CONCURRENT = (
    "another import wrote the same legacy jobs or logs meanwhile; run it again"
)
W_KEPT = "already imported as job {job_id}; left as it is"
W_NOT_IMPORTED = "not imported: {problem}; its {count} log(s) were left out"
W_NAME_EMPTY = "the legacy name is empty"
NOTE_VERSION = "Imported from legacy job {id} by import_legacy."
NOTES = (
    "Schedules were converted from the stored UTC values at +08:00, which is "
    "what the legacy system ran; jobs entered in eras that used +07:37 or no "
    "offset keep their actual run times (see each job's warnings).",
    "Log times were read as UTC; logs written by the v4 (X4) worker may in "
    "fact hold Hong Kong local time (8 hours ahead); they were not corrected.",
)
NOTE_IN_FLIGHT = (
    "{count} v3 dispatch(es) were pending or in progress when the legacy "
    "system stopped (work in flight); they are not imported."
)


class LegacyImportError(JobsError):
    """The legacy database cannot be imported; nothing was written."""


@dataclass
class _Entry:
    """One legacy job in the report, with the job it became (if any)."""

    mapped: rules.LegacyJob
    job: Job | None
    is_created: bool = False
    problem: str = ""
    runs: Counter[str] = field(default_factory=Counter)
    left_out: int = 0
    unknown_statuses: Counter[str] = field(default_factory=Counter)


@dataclass
class _Totals:
    runs_created: int = 0
    orphan_logs: list[int] = field(default_factory=list)


def legacy_import(
    *,
    source: LegacySource,
    now: datetime,
    dry_run: bool,
    activate: bool,
    legacy_dir: str | None = None,
    era_bd_ids: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """Import `source` all or nothing and return the report (see README).

    Without `activate` every imported job is inactive; with it a job takes
    the legacy flag unless the rules import it inactive. Jobs of
    `era_bd_ids` get their fixed times converted at +07:37 (see
    `legacy_mapping.job_map`). With `dry_run`
    everything is done and then rolled back, so the report is the real one.
    """
    try:
        schema, ignored = _schema(source)
        in_flight = source.dispatch_in_flight()
        with transaction.atomic():
            actor = _actor()
            entries = _jobs_import(
                source.jobs(),
                now=now,
                actor=actor,
                activate=activate,
                legacy_dir=legacy_dir,
                era_bd_ids=era_bd_ids,
            )
            totals = _logs_import(source, entries, now=now)
            report = _report(schema, entries, totals, ignored, in_flight)
            if dry_run:
                transaction.set_rollback(True)
    except rules.LegacyDataError as exc:
        raise LegacyImportError(str(exc)) from None
    except IntegrityError:
        # Only another import writing the same legacy ids meanwhile can
        # break the unique legacy ids or run slots.
        raise LegacyImportError(MSG_CONCURRENT) from None
    if dry_run:
        for job in report["jobs"]:
            job["job_id"] = None
    return report


def _schema(source: LegacySource) -> tuple[rules.Schema, list[str]]:
    tables = source.tables()
    for table in (rules.JOB_TABLE, rules.LOG_TABLE):
        if table not in tables:
            raise rules.LegacyDataError(rules.MSG_MISSING_TABLE.format(table=table))
    schema = rules.schema_detect(source.columns(rules.JOB_TABLE))
    rules.log_columns_check(source.columns(rules.LOG_TABLE))
    ignored = [t for t in tables if t not in (rules.JOB_TABLE, rules.LOG_TABLE)]
    return schema, ignored


def _actor() -> User:
    """Return the user imports act as, made (unable to sign in) the first time."""
    user, created = get_user_model().objects.get_or_create(
        username=ACTOR_USERNAME, defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _jobs_import(
    rows: Iterable[dict[str, Any]],
    *,
    now: datetime,
    actor: User,
    activate: bool,
    legacy_dir: str | None,
    era_bd_ids: frozenset[int],
) -> dict[int, _Entry]:
    mapped = [
        rules.job_map(row, legacy_dir=legacy_dir, era_bd_ids=era_bd_ids) for row in rows
    ]
    existing = {
        job.legacy_id: job
        for job in Job.objects.filter(legacy_id__in=[m.legacy_id for m in mapped])
    }
    taken = set(Job.objects.values_list("name", flat=True))
    entries = {}
    for item in mapped:
        job = existing.get(item.legacy_id)
        if job is not None:
            item.warnings.append(W_KEPT.format(job_id=job.pk))
            entries[item.legacy_id] = _Entry(mapped=item, job=job)
            continue
        entry = _job_create(item, now=now, actor=actor, activate=activate, taken=taken)
        entries[item.legacy_id] = entry
    return entries


def _job_name(item: rules.LegacyJob, taken: set[str]) -> str:
    suffix = f" [legacy {item.legacy_id}]"
    # PostgreSQL text cannot hold U+0000; the name changes and is reported.
    name = item.name.replace("\x00", "\ufffd")
    if not name.strip():
        item.warnings.append(W_NAME_EMPTY)
        name = f"legacy job {item.legacy_id}"
    if len(name) > NAME_MAX:
        return name[: NAME_MAX - len(suffix)] + suffix
    if name in taken:
        return name[: NAME_MAX - len(suffix)] + suffix
    return name


def _job_create(
    item: rules.LegacyJob,
    *,
    now: datetime,
    actor: User,
    activate: bool,
    taken: set[str],
) -> _Entry:
    name = _job_name(item, taken)
    script = item.script
    if not item.is_script_inside:
        # Kept for the report; the job can only point at a file of ours.
        script = re.split(r"[\\/]", item.legacy_script)[-1]
    description = DESCRIPTION.format(id=item.legacy_id, path=item.legacy_script)
    if item.args_raw is not None and item.args_raw.strip():
        description += DESCRIPTION_ARGS.format(raw=item.args_raw)
    job = Job(
        name=name,
        description=description,
        script=script,
        args=item.args,
        timezone=rules.HONG_KONG,
        is_active=activate and item.is_importable_active,
        legacy_id=item.legacy_id,
    )
    try:
        with transaction.atomic():
            job_save(
                job=job,
                schedules=[item.schedule],
                now=now,
                actor=actor,
                note=NOTE_VERSION.format(id=item.legacy_id),
            )
    except ValidationError as exc:
        return _Entry(mapped=item, job=None, problem=_problem(exc))
    taken.add(name)
    return _Entry(mapped=item, job=job, is_created=True)


def _problem(exc: ValidationError) -> str:
    """Return a validation error as "field: message; ..." text."""
    if not hasattr(exc, "error_dict"):
        return "; ".join(m.rstrip(".") for m in exc.messages)
    return "; ".join(
        f"{name}: {message.rstrip('.')}"
        for name, messages in exc.message_dict.items()
        for message in messages
    )


def _logs_import(
    source: LegacySource, entries: dict[int, _Entry], *, now: datetime
) -> _Totals:
    totals = _Totals()
    for rows in source.logs():
        logs = [rules.log_map(row) for row in rows]
        done = set(
            JobRun.objects.filter(
                legacy_id__in=[log.legacy_id for log in logs]
            ).values_list("legacy_id", flat=True)
        )
        records = []
        for log in logs:
            entry = entries.get(log.legacy_job_id)
            if entry is None:
                totals.orphan_logs.append(log.legacy_id)
                continue
            if entry.job is None:
                entry.left_out += 1
                continue
            entry.runs[log.status] += 1
            if not log.is_status_known:
                entry.unknown_statuses[log.legacy_status] += 1
            if log.legacy_id not in done:
                records.append(_run(log, entry.job))
        _attempts_number(records)
        runs_end(now=now, records=records, is_history=True)
        totals.runs_created += len(records)
    return totals


def _run(log: rules.LegacyRun, job: Job) -> JobRun:
    failed = log.status != JobRun.Status.SUCCEEDED
    if log.status == JobRun.Status.TIMED_OUT:
        code = reasons.TIMED_OUT
    else:
        code = reasons.LEGACY_FAILED if failed else ""
    return JobRun(
        job=job,
        legacy_id=log.legacy_id,
        scheduled_for=log.at,
        trigger=JobRun.Trigger.SCHEDULE,
        status=log.status,
        queued_at=log.at,
        not_before=log.at,
        started_at=log.at,
        finished_at=log.at,
        output=log.output,
        reason=REASON.format(status=log.legacy_status.strip()) if failed else "",
        reason_code=code,
        priority=job.priority,
    )


def _attempts_number(records: list[JobRun]) -> None:
    """Number the attempts of logs that share a job and a time.

    A run is unique on (job, slot, attempt); two legacy logs of one job at
    the same instant become attempts 1, 2, ... after those already stored.
    """
    if not records:
        return
    stored = {
        (row["job_id"], row["scheduled_for"]): row["last"]
        for row in JobRun.objects.filter(
            job_id__in={r.job_id for r in records},
            scheduled_for__in={r.scheduled_for for r in records},
        )
        .values("job_id", "scheduled_for")
        .annotate(last=Max("attempt"))
    }
    for record in records:
        key = (record.job_id, record.scheduled_for)
        stored[key] = stored.get(key, 0) + 1
        record.attempt = stored[key]


def _job_report(entry: _Entry) -> dict[str, Any]:
    item = entry.mapped
    warnings = list(item.warnings)
    for status, count in sorted(entry.unknown_statuses.items()):
        warnings.append(rules.W_STATUS.format(count=count, status=status))
    if entry.job is None:
        warnings.append(
            W_NOT_IMPORTED.format(problem=entry.problem, count=entry.left_out)
        )
    job = entry.job
    return {
        "legacy_id": item.legacy_id,
        "job_id": job.pk if job else None,
        "name": job.name if job else item.name,
        "legacy_name": item.name,
        "schedule": item.schedule,
        "script": job.script if job else item.script,
        "legacy_script": item.legacy_script,
        "args": item.args,
        "legacy_args": item.args_raw,
        "is_active": bool(job and job.is_active),
        "created": entry.is_created,
        "runs": {status: entry.runs.get(status, 0) for status in STATUSES},
        "warnings": warnings,
    }


def _report(
    schema: rules.Schema,
    entries: dict[int, _Entry],
    totals: _Totals,
    ignored: list[str],
    in_flight: int,
) -> dict[str, Any]:
    jobs = [_job_report(e) for e in entries.values()]
    renamed = {
        str(e.mapped.legacy_id): e.job.name
        for e in entries.values()
        if e.is_created and e.job is not None and e.job.name != e.mapped.name
    }
    runs: Counter[str] = Counter()
    for entry in entries.values():
        runs.update(entry.runs)
    notes = list(NOTES)
    if in_flight:
        notes.append(NOTE_IN_FLIGHT.format(count=in_flight))
    return {
        "schema_version": schema.version,
        "schema_layout": schema.layout,
        "jobs": jobs,
        "orphan_logs": totals.orphan_logs,
        "renamed": renamed,
        "ignored_tables": ignored,
        "work_in_flight": in_flight,
        "notes": notes,
        "totals": {
            "jobs": len(jobs),
            "jobs_imported": sum(1 for j in jobs if j["job_id"] is not None),
            "jobs_created": sum(1 for e in entries.values() if e.is_created),
            "jobs_not_imported": sum(1 for e in entries.values() if e.job is None),
            "jobs_active": sum(1 for j in jobs if j["is_active"]),
            "runs": {status: runs.get(status, 0) for status in STATUSES},
            "runs_created": totals.runs_created,
            "logs_left_out": sum(e.left_out for e in entries.values()),
            "orphan_logs": len(totals.orphan_logs),
        },
    }
