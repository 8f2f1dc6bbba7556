"""Job versions: snapshots of a job's definition, their history and diffs.

A snapshot is the job document (`jobs.documents.job_to_document`, which
names the job's secrets but never holds their values) plus `script_sha256`,
the script's content hash when the version was stored: the scripts
registry's hash when the script is registered, else the file's (None if the
file is unusable). `job_save` stores a version whenever the
snapshot differs from the latest one; `jobs.services.jobs.job_version_restore`
saves an old snapshot through `job_save` again, so a rollback is itself a
new version and an audited "restore".
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.actors import Actor, actor_user
from jobs.documents import (
    BLACKOUTS_KEY,
    DEPENDENCIES_KEY,
    DEPENDENCY_JOB_KEY,
    DEPENDENCY_WINDOW_KEY,
    FLAT_FIELDS,
    GROUPS,
    PARAMETER_KEYS,
    PARAMETERS_KEY,
    SECRETS_KEY,
    job_to_document,
    parameter_documents,
)
from jobs.models import (
    BlackoutCalendar,
    Job,
    JobDependency,
    JobTemplate,
    JobVersion,
    Schedule,
    Script,
    Secret,
    SnapshotVersion,
)
from jobs.script_content import stat_script
from jobs.script_files import script_resolve
from jobs.script_paths import ScriptPathError
from jobs.version_diff import Change, ordered, version_diff

logger = logging.getLogger(__name__)
# A job version or a template version (`jobs.models.versions.SnapshotVersion`).
V = TypeVar("V", bound=SnapshotVersion)

MSG_BASELINE = "State before its first recorded change."
MSG_SECRETS_GONE = "Secrets of this version no longer exist: {names}."
MSG_BLACKOUTS_GONE = "Blackout calendars of this version no longer exist: {names}."
SCRIPT_HASH_KEY = "script_sha256"


def _snapshot_key_order() -> tuple[str, ...]:
    """Return the order of a snapshot's keys: the job document's, then ours."""
    top: list[str] = []
    for key in FLAT_FIELDS:
        top.append(key)
        if key == "env":
            top.append(SECRETS_KEY)
    nested = [key for fields in GROUPS.values() for key in fields]
    # "type" leads each schedule document, as in `schedule_document`.
    order = [
        *top,
        "schedules",
        PARAMETERS_KEY,
        BLACKOUTS_KEY,
        *GROUPS,
        DEPENDENCIES_KEY,
        SCRIPT_HASH_KEY,
        "type",
        *nested,
        DEPENDENCY_JOB_KEY,
        DEPENDENCY_WINDOW_KEY,
    ]
    # A parameter's keys, but those a job document already places ("name").
    order += [key for key in PARAMETER_KEYS if key not in order]
    return tuple(order)


# How diffs and pages order a snapshot's keys (the database may not keep it).
SNAPSHOT_KEY_ORDER = _snapshot_key_order()


def script_sha256(script: str) -> str | None:
    """Return the script's content hash: the registry's, else the file's."""
    registered = (
        Script.objects.filter(path=script)
        .exclude(sha256="")
        .values_list("sha256", flat=True)
    ).first()
    if registered:
        return registered
    try:
        return stat_script(script_resolve(script)).sha256
    except (ScriptPathError, OSError):
        return None


def job_snapshot(job: Job) -> dict[str, Any]:
    """Return the snapshot of `job` as saved: schedules, secrets, parameters."""
    schedules: list[Any] = []
    secrets: list[str] = []
    parameters: list[dict[str, Any]] = []
    blackouts: list[str] = []
    dependencies: list[dict[str, Any]] = []
    if job.pk is not None:
        # Read afresh: a prefetched `job.schedules` may predate the save.
        schedules = list(
            Schedule.objects.filter(job_id=job.pk)
            .order_by("position", "pk")
            .values_list("document", flat=True)
        )
        secrets = list(Secret.objects.filter(jobs=job).values_list("name", flat=True))
        parameters = parameter_documents(Job.objects.get(pk=job.pk))
        blackouts = list(
            BlackoutCalendar.objects.filter(jobs=job).values_list("name", flat=True)
        )
        dependencies = [
            {DEPENDENCY_JOB_KEY: name, DEPENDENCY_WINDOW_KEY: window}
            for name, window in JobDependency.objects.filter(job_id=job.pk).values_list(
                "depends_on__name", "window_hours"
            )
        ]
    snapshot = job_to_document(
        job,
        schedules=schedules,
        secrets=secrets,
        parameters=parameters,
        blackouts=blackouts,
        dependencies=dependencies,
    )
    snapshot[SCRIPT_HASH_KEY] = script_sha256(job.script)
    return snapshot


def job_stored_snapshot(job_id: int) -> dict[str, Any] | None:
    """Return the snapshot of job `job_id` as the database has it, or None."""
    stored = Job.objects.filter(pk=job_id).first()
    return job_snapshot(stored) if stored is not None else None


def job_version_record(
    *,
    job: Job,
    author: Actor,
    note: str = "",
    now: datetime,
    snapshot: dict[str, Any] | None = None,
) -> JobVersion | None:
    """Store the job's current definition as its next version.

    Return None and store nothing when it equals the latest version.
    `snapshot` saves reading the job again when the caller has it.
    """
    if snapshot is None:
        snapshot = job_snapshot(job)
    version = version_store_next(
        JobVersion(job=job, snapshot=snapshot, author=actor_user(author)),
        owner=job,
        note=note,
        now=now,
    )
    if version is not None:
        logger.info("Job %s: stored version %s", job.pk, version.number)
    return version


def version_store_next(
    version: V, *, owner: Job | JobTemplate, note: str, now: datetime
) -> V | None:
    """Save `version` (a job's or a template's) as its owner's next number.

    `version` is unsaved, with its owner, author and snapshot set. Nothing is stored
    (and None returned) when the snapshot equals the owner's latest version.
    """
    with transaction.atomic():
        # Serialise numbering per owner (a no-op on SQLite, whose writers are
        # serialised anyway).
        list(type(owner).objects.select_for_update().filter(pk=owner.pk).values("pk"))
        latest = owner.versions.order_by("-number").first()
        if latest is not None and latest.snapshot == version.snapshot:
            return None
        version.number = latest.number + 1 if latest is not None else 1
        version.note = note[:500]
        version.created_at = now
        version.full_clean(validate_constraints=False)
        version.save()
    return version


def job_version_baseline(
    *, job: Job, before: dict[str, Any] | None, now: datetime
) -> JobVersion | None:
    """Store `before` as version 1 of a job that has no versions yet.

    Jobs saved before versions existed so still get their previous state
    into the history, and the first change can be diffed and rolled back.
    """
    if before is None or JobVersion.objects.filter(job=job).exists():
        return None
    return job_version_record(
        job=job, author=None, note=MSG_BASELINE, now=now, snapshot=before
    )


def job_version_diff(*, old: JobVersion, new: JobVersion) -> list[Change]:
    """Return the changes from version `old` to version `new`, in document order."""
    return version_diff(
        old=old.snapshot, new=new.snapshot, key_order=SNAPSHOT_KEY_ORDER
    )


def snapshot_ordered(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Return a snapshot with its keys in document order, for display."""
    return ordered(snapshot, key_order=SNAPSHOT_KEY_ORDER)


def snapshot_apply(job: Job, snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """Set the snapshot's job fields on `job` and return its schedules."""
    for key, field in FLAT_FIELDS.items():
        if key in snapshot:
            setattr(job, field, copy.deepcopy(snapshot[key]))
    for group, fields in GROUPS.items():
        for key, field in fields.items():
            if key in snapshot.get(group, {}):
                setattr(job, field, copy.deepcopy(snapshot[group][key]))
    return copy.deepcopy(list(snapshot.get("schedules", [])))


def snapshot_parameters(snapshot: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Return the parameter documents a snapshot declares.

    None for a version stored before versions held parameters: restoring
    it keeps the job's current ones rather than dropping them.
    """
    if PARAMETERS_KEY not in snapshot:
        return None
    return copy.deepcopy(list(snapshot[PARAMETERS_KEY]))


def snapshot_secrets(snapshot: dict[str, Any]) -> list[Secret]:
    """Return the secrets a snapshot names; raise if any no longer exists."""
    names = set(snapshot.get(SECRETS_KEY, []))
    secrets = list(Secret.objects.filter(name__in=names))
    missing = names - {secret.name for secret in secrets}
    if missing:
        raise ValidationError(
            {SECRETS_KEY: [MSG_SECRETS_GONE.format(names=", ".join(sorted(missing)))]}
        )
    return secrets


def snapshot_blackouts(snapshot: dict[str, Any]) -> list[BlackoutCalendar]:
    """Return the blackout calendars a snapshot names; raise if any is gone."""
    names = set(snapshot.get(BLACKOUTS_KEY, []))
    calendars = list(BlackoutCalendar.objects.filter(name__in=names))
    missing = names - {calendar.name for calendar in calendars}
    if missing:
        text = MSG_BLACKOUTS_GONE.format(names=", ".join(sorted(missing)))
        raise ValidationError({BLACKOUTS_KEY: [text]})
    return calendars
