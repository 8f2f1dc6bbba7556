"""Writes to jobs: the admin, the API and the commands all call these."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.actors import Actor, actor_user
from accounts.models import AuditEvent
from accounts.services.audit import audit_record, audit_target
from jobs import schedule as engine
from jobs.documents import DEPENDENCIES_KEY
from jobs.errors import JobsError
from jobs.models import BlackoutCalendar, Job, JobRun, JobVersion, Schedule, Secret
from jobs.permissions import can_change_job_owner
from jobs.services.grants import object_permissions_clear
from jobs.services.job_dependencies import dependencies_resolve, dependencies_store
from jobs.services.parameters import (
    job_parameters_replace,
    parameter_documents_validate,
)
from jobs.services.scripts import ScriptUnavailableError, script_sync_path
from jobs.services.versions import (
    SNAPSHOT_KEY_ORDER,
    job_snapshot,
    job_stored_snapshot,
    job_version_baseline,
    job_version_record,
    snapshot_apply,
    snapshot_blackouts,
    snapshot_parameters,
    snapshot_secrets,
)
from jobs.validators import validate_job_secret_names
from jobs.version_diff import diff_as_changes
from jobs.wakeup import wakeup_notify

logger = logging.getLogger(__name__)

MSG_SECRETS_PERMISSION = (
    "Only users who may change secrets can choose which secrets a job gets."
)
MSG_OWNER_PERMISSION = (
    "Only users who may grant rights on jobs can change a job's owner."
)
MSG_NO_SCHEDULES = "A job needs at least one schedule (use type 'manual' for none)."
MSG_ACTIVATED = "Activated."
MSG_DEACTIVATED = "Deactivated."
MSG_RESTORED = "Restored version {number}."


class JobOwnerPermissionError(JobsError, PermissionError):
    """The actor may not change the job's owner."""


def next_run_for(job: Job, *, after: datetime) -> engine.FireTime | None:
    """Return the job's first fire instant strictly after `after`, if any."""
    return engine.next_fire(job.parsed_schedules(), after)


def job_schedule_refresh(*, job: Job, now: datetime) -> Job:
    """Recompute and store `next_run_at` after a change to when a job runs.

    Called whenever schedules, timezone or `is_active` change. An inactive
    job, or one with only manual schedules, has no next run. A schedule the
    engine cannot handle is recorded in `schedule_error` instead of raising,
    so that one bad job cannot stop the others.
    """
    next_run_at = None
    error = ""
    if job.is_active:
        try:
            fire = next_run_for(job, after=now)
        except (engine.ScheduleError, ValueError) as exc:
            error = str(exc)
            logger.warning("Job %s has an unusable schedule: %s", job.pk, exc)
        else:
            next_run_at = fire.at if fire else None
    Job.objects.filter(pk=job.pk).update(next_run_at=next_run_at, schedule_error=error)
    job.next_run_at, job.schedule_error = next_run_at, error
    # Waiting workers may now have an earlier slot to wait for.
    wakeup_notify()
    return job


def schedules_validate(
    documents: Sequence[Any], *, timezone: str
) -> list[dict[str, Any]]:
    """Validate schedule documents and return them normalised.

    Raise `ValidationError` keyed by "schedules" with the engine's message,
    prefixed by the schedule's position when there are several.
    """
    if not isinstance(documents, list | tuple) or not documents:
        raise ValidationError({"schedules": [MSG_NO_SCHEDULES]})
    normalised = []
    for index, document in enumerate(documents):
        try:
            parsed = engine.parse_schedule(document, default_timezone=timezone)
        except engine.ScheduleError as exc:
            where = f"schedule {index + 1}: " if len(documents) > 1 else ""
            raise ValidationError({"schedules": [f"{where}{exc}"]}) from None
        normalised.append(parsed.document)
    return normalised


@transaction.atomic
def job_save(
    *,
    job: Job,
    schedules: Sequence[dict[str, Any]] | None,
    now: datetime,
    actor: Actor = None,
    ip: str | None = None,
    note: str = "",
    audit_action: str | None = None,
    secrets: Iterable[Secret] | None = None,
    parameters: Sequence[Any] | None = None,
    blackouts: Iterable[BlackoutCalendar] | None = None,
    dependencies: Sequence[Mapping[str, Any]] | None = None,
) -> Job:
    """Validate and save `job`, replace its schedules if given, refresh next run.

    `schedules=None` keeps the existing schedules (for example when only the
    description changed); likewise `secrets=None` keeps the job's secrets
    and `parameters=None` its declared parameters (parameter documents,
    `jobs.documents.PARAMETER_KEYS`), `blackouts=None` its blackout
    calendars; `dependencies=None` (documents: "job", "window_hours") keeps
    the jobs it depends on
    (`jobs.services.job_dependencies` checks them).
    Raise `ValidationError` and write nothing when any part is invalid.

    A new job without an owner is owned by `actor`, who creates it; naming
    another owner, or changing it later, takes the right to grant rights
    (`JobOwnerPermissionError` otherwise, before anything is written). Every
    change of the definition is stored as a job version (with `note`) and
    audited as a create or update by `actor` from `ip` with the field
    changes (or as `audit_action`, such as "restore", even without any);
    a save that changes nothing stores and records nothing.
    """
    creating = job.pk is None
    creator = actor_user(actor)
    if creating and job.owner_id is None and creator is not None:
        job.owner = creator
    _check_may_change_owner(job, actor=actor, creating=creating)
    before = None if creating else job_stored_snapshot(job.pk)
    before_owner = None if creating else _stored_owner_name(job.pk)
    job.full_clean()
    secrets = _secrets_allowed(secrets)
    documents = _schedules_for(job, schedules, now=now)
    parameter_documents = (
        None if parameters is None else parameter_documents_validate(list(parameters))
    )
    upstreams = (
        None
        if dependencies is None
        else dependencies_resolve(job=job, documents=dependencies, actor=actor)
    )
    job.save()
    if parameter_documents is not None:
        job_parameters_replace(job=job, documents=parameter_documents)
    if upstreams is not None:
        dependencies_store(job=job, upstreams=upstreams)
    if documents is not None:
        job.schedules.all().delete()
        Schedule.objects.bulk_create(
            Schedule(job=job, document=doc, position=i)
            for i, doc in enumerate(documents)
        )
    if secrets is not None:
        _check_may_choose_secrets(job, list(secrets), actor=actor, creating=creating)
        # Before the snapshot, so that the version and audit name them.
        job.secrets.set(list(secrets))
    if blackouts is not None:
        job.blackout_calendars.set(list(blackouts))
    # A job refers to a registered script: a new one now waits for review.
    with contextlib.suppress(ScriptUnavailableError):
        script_sync_path(path=job.script, now=now, actor=actor)
    job = job_schedule_refresh(job=job, now=now)
    # Queued runs start in the job's current priority order.
    job.runs.filter(status=JobRun.Status.QUEUED).exclude(priority=job.priority).update(
        priority=job.priority
    )
    after = job_snapshot(job)
    job_version_baseline(job=job, before=before, now=now)
    job_version_record(job=job, author=actor, note=note, now=now, snapshot=after)
    changes = diff_as_changes(old=before or {}, new=after, key_order=SNAPSHOT_KEY_ORDER)
    after_owner = _stored_owner_name(job.pk)
    if after_owner != before_owner:
        changes["owner"] = [before_owner, after_owner]
    if creating:
        audit_action = AuditEvent.Action.CREATE
    if changes or audit_action is not None:
        audit_record(
            actor=actor,
            action=audit_action or AuditEvent.Action.UPDATE,
            target=job,
            changes=changes,
            ip=ip,
            now=now,
        )
    return job


def _schedules_for(
    job: Job, schedules: Sequence[dict[str, Any]] | None, *, now: datetime
) -> list[dict[str, Any]] | None:
    """Return the schedules to store for `job`, validated (None: keep them).

    An interval without a start keeps its previous start if its length did
    not change, else starts now (`jobs.schedule.interval_starts_stamp`).
    """
    if schedules is not None:
        documents = schedules_validate(list(schedules), timezone=job.timezone)
        previous = [] if job.pk is None else job.schedule_documents()
        return engine.interval_starts_stamp(documents, previous=previous, now=now)
    if job.pk is None:
        raise ValidationError({"schedules": [MSG_NO_SCHEDULES]})
    return None


@transaction.atomic
def job_set_active(
    *,
    job: Job,
    is_active: bool,
    now: datetime,
    actor: Actor = None,
    ip: str | None = None,
) -> Job:
    """Activate or deactivate a job and recompute its next run.

    A real change is stored as a job version and audited as "activate" or
    "deactivate" by `actor` from `ip`.
    """
    before = job_stored_snapshot(job.pk)
    was_active = before["active"] if before is not None else job.is_active
    job.is_active = is_active
    job.save(update_fields=["is_active", "updated_at"])
    job = job_schedule_refresh(job=job, now=now)
    if was_active == is_active:
        return job
    job_version_baseline(job=job, before=before, now=now)
    job_version_record(
        job=job,
        author=actor,
        note=MSG_ACTIVATED if is_active else MSG_DEACTIVATED,
        now=now,
    )
    action = AuditEvent.Action.ACTIVATE if is_active else AuditEvent.Action.DEACTIVATE
    audit_record(
        actor=actor,
        action=action,
        target=job,
        changes={"active": [was_active, is_active]},
        ip=ip,
        now=now,
    )
    return job


@transaction.atomic
def job_delete(
    *,
    job: Job,
    now: datetime,
    actor: Actor = None,
    ip: str | None = None,
) -> None:
    """Delete a job with its schedules, runs, versions and per-job rights.

    Audited as "delete" with the job's last definition as the old values.
    """
    before = job_stored_snapshot(job.pk) or {}
    target = audit_target(job)
    object_permissions_clear(obj=job)
    job.delete()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        target=target,
        changes=diff_as_changes(old=before, new={}, key_order=SNAPSHOT_KEY_ORDER),
        ip=ip,
        now=now,
    )
    # A waiting worker may have been waiting for this job's next run.
    wakeup_notify()


def _stored_owner_name(job_id: int) -> str | None:
    """Return the user name of the job's stored owner, or None."""
    field = f"owner__{get_user_model().USERNAME_FIELD}"
    return (
        Job.objects.filter(pk=job_id, owner__isnull=False)
        .values_list(field, flat=True)
        .first()
    )


def _check_may_change_owner(job: Job, *, actor: Actor, creating: bool) -> None:
    """Refuse a change of a job's owner by someone who may not grant rights.

    The owner holds every right on the job, so handing it over is granting
    rights (the Admin role). A new job owned by its creator changes nothing.
    Commands run without an actor and are trusted like the operator.
    """
    if actor is None:
        return
    if creating:
        current = actor.pk
    else:
        stored = Job.objects.filter(pk=job.pk).values_list("owner_id", flat=True)
        current = stored.first()
    if job.owner_id != current and not can_change_job_owner(actor, job):
        raise JobOwnerPermissionError(MSG_OWNER_PERMISSION)


def _secrets_allowed(secrets: Iterable[Secret] | None) -> list[Secret] | None:
    """Return `secrets` as a list; refuse names that make other code run.

    A secret saved before such names were refused, or planted in the
    database, must not reach a job (`jobs.run_env`), whoever saves it.
    """
    if secrets is None:
        return None
    chosen = list(secrets)
    try:
        validate_job_secret_names(secret.name for secret in chosen)
    except ValidationError as exc:
        raise ValidationError({"secrets": exc.messages}) from None
    return chosen


def _check_may_choose_secrets(
    job: Job,
    secrets: list[Secret],
    *,
    actor: Actor,
    creating: bool,
) -> None:
    """Refuse a change of a job's secrets by someone who may not manage secrets.

    Giving a secret to a job gives its value to the job's script, so it takes
    the same right as changing the secret (the Admin role). Commands run
    without an actor and are trusted like the operator running them.
    """
    current = set() if creating else set(job.secrets.values_list("pk", flat=True))
    if {secret.pk for secret in secrets} == current or actor is None:
        return
    if not actor.has_perm("jobs.change_secret"):
        raise ValidationError({"secrets": [MSG_SECRETS_PERMISSION]})


def job_version_restore(
    *,
    version: JobVersion,
    actor: Actor,
    now: datetime,
    ip: str | None = None,
) -> Job:
    """Save `version`'s definition as the job's current one and return the job.

    Goes through `job_save`, so the result is validated, stored as a new
    version and audited as a "restore". The script's content and the
    secrets' values are not part of a version and stay as they are. Raise
    `ValidationError` if the old definition is no longer valid (a secret
    deleted since, a name taken by another job).
    """
    job = Job.objects.get(pk=version.job_id)
    schedules = snapshot_apply(job, version.snapshot)
    return job_save(
        job=job,
        schedules=schedules,
        secrets=snapshot_secrets(version.snapshot),
        parameters=snapshot_parameters(version.snapshot),
        blackouts=snapshot_blackouts(version.snapshot),
        dependencies=version.snapshot.get(DEPENDENCIES_KEY, []),
        now=now,
        actor=actor,
        ip=ip,
        note=MSG_RESTORED.format(number=version.number),
        audit_action=AuditEvent.Action.RESTORE,
    )
