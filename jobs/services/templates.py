"""Writes to job templates: save, versions, restore, and jobs made from them.

The admin, the API and the commands call these. A template's snapshot is
its document (`template_document`); every save that changes it stores a
`JobTemplateVersion` and an audit event, and a restore saves an old snapshot
again (a new version, audited as "restore"), as job versions do. Diffs use
the job versions' `jobs.version_diff`.

`template_instantiate` fills the template's placeholders with the given
values and creates the job through the job document schema and `job_save`,
exactly as `POST /api/jobs` and `importjobs` do.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.actors import Actor, actor_user
from accounts.models import AuditEvent
from accounts.services.audit import audit_record, audit_target
from jobs import template_text
from jobs.document_schema import DocumentInvalidError, document_validate
from jobs.documents import MODEL_FIELDS, PARAMETERS_KEY, SECRETS_KEY
from jobs.models import Job, JobTemplate, JobTemplateVersion
from jobs.services.jobs import job_save
from jobs.services.versions import SNAPSHOT_KEY_ORDER, version_store_next
from jobs.version_diff import Change, diff_as_changes, version_diff

logger = logging.getLogger(__name__)

ACTION_INSTANTIATE = "instantiate"
TEMPLATE_KEYS = ("name", "category", "description", "parameters", "body")
# Template keys first, then a parameter's, then the body's (a job document).
TEMPLATE_KEY_ORDER = (*TEMPLATE_KEYS, "default", *SNAPSHOT_KEY_ORDER)
MSG_RESTORED = "Restored version {number}."
MSG_CREATED_FROM = "Created from template {template} v{number}."


def template_document(template: JobTemplate) -> dict[str, Any]:
    """Return `template` as a template document (its snapshot and export)."""
    return {
        "name": template.name,
        "category": template.category,
        "description": template.description,
        "parameters": copy.deepcopy(list(template.parameters)),
        "body": copy.deepcopy(dict(template.body)),
    }


def template_latest_version(template: JobTemplate) -> JobTemplateVersion | None:
    """Return the template's newest version, or None."""
    return template.versions.order_by("-number").first()


def _check(template: JobTemplate) -> None:
    """Normalise the parameters and check the body; raise ValidationError."""
    try:
        template.parameters = template_text.parameters_check(template.parameters)
    except template_text.TemplateError as exc:
        raise ValidationError({"parameters": exc.messages}) from None
    try:
        template_text.body_check(template.body, template.parameters)
    except template_text.TemplateError as exc:
        raise ValidationError({"body": exc.messages}) from None


@transaction.atomic
def template_save(
    *,
    template: JobTemplate,
    now: datetime,
    actor: Actor = None,
    ip: str | None = None,
    note: str = "",
    audit_action: str | None = None,
) -> JobTemplate:
    """Validate and save `template`; store a version and audit a real change.

    Raise `ValidationError` (keyed by field) and write nothing when invalid.
    A save that changes nothing stores and records nothing.
    """
    creating = template.pk is None
    before = None
    if not creating:
        stored = JobTemplate.objects.filter(pk=template.pk).first()
        before = template_document(stored) if stored is not None else None
    _check(template)
    if creating:
        template.created_at = now
    template.updated_at = now
    template.full_clean()
    after = template_document(template)
    if after == before and audit_action is None:
        return template
    template.save()
    template_version_record(template=template, author=actor, note=note, now=now)
    changes = diff_as_changes(old=before or {}, new=after, key_order=TEMPLATE_KEY_ORDER)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREATE
        if creating
        else (audit_action or AuditEvent.Action.UPDATE),
        target=template,
        changes=changes,
        ip=ip,
        now=now,
    )
    return template


@transaction.atomic
def template_delete(
    *, template: JobTemplate, now: datetime, actor: Actor = None, ip: str | None = None
) -> None:
    """Delete a template with its versions, audited with its last document.

    Jobs made from it stay; they only forget where they came from.
    """
    before = template_document(template)
    target = audit_target(template)
    template.delete()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        target=target,
        changes=diff_as_changes(old=before, new={}, key_order=TEMPLATE_KEY_ORDER),
        ip=ip,
        now=now,
    )


def template_version_record(
    *, template: JobTemplate, author: Actor, note: str = "", now: datetime
) -> JobTemplateVersion | None:
    """Store the template's current document as its next version, if changed."""
    version = version_store_next(
        JobTemplateVersion(
            template=template,
            snapshot=template_document(template),
            author=actor_user(author),
        ),
        owner=template,
        note=note,
        now=now,
    )
    if version is None:
        return None
    logger.info("Template %s: stored version %s", template.pk, version.number)
    return version


def template_version_diff(
    *, old: JobTemplateVersion, new: JobTemplateVersion
) -> list[Change]:
    """Return the changes from version `old` to version `new`, in document order."""
    return version_diff(
        old=old.snapshot, new=new.snapshot, key_order=TEMPLATE_KEY_ORDER
    )


def template_version_restore(
    *,
    version: JobTemplateVersion,
    actor: Actor,
    now: datetime,
    ip: str | None = None,
) -> JobTemplate:
    """Save `version`'s document as the template's current one (a new version)."""
    template = JobTemplate.objects.get(pk=version.template_id)
    template_apply(template, version.snapshot)
    return template_save(
        template=template,
        now=now,
        actor=actor,
        ip=ip,
        note=MSG_RESTORED.format(number=version.number),
        audit_action=AuditEvent.Action.RESTORE,
    )


def template_apply(template: JobTemplate, document: dict[str, Any]) -> JobTemplate:
    """Set a template document's values on `template` (missing keys: defaults)."""
    template.name = str(document.get("name", template.name))
    template.category = str(document.get("category", ""))
    template.description = str(document.get("description", ""))
    template.parameters = copy.deepcopy(document.get("parameters", []))
    template.body = copy.deepcopy(document.get("body", {}))
    return template


def template_render(
    *, template: JobTemplate, values: dict[str, Any], name: str | None = None
) -> dict[str, Any]:
    """Return the job document `template` gives with `values` (and `name`).

    Raise `DocumentInvalidError` keyed "parameters" naming each bad value.
    """
    try:
        resolved = template_text.values_resolve(template.parameters, values)
        document = template_text.render(template.body, resolved)
    except template_text.TemplateError as exc:
        raise DocumentInvalidError({"parameters": exc.messages}) from None
    if name:
        document["name"] = name
    return dict(document)


@transaction.atomic
def template_instantiate(
    *,
    template: JobTemplate,
    values: dict[str, Any],
    now: datetime,
    actor: Actor = None,
    name: str | None = None,
    ip: str | None = None,
) -> Job:
    """Create a job from `template` with `values` overriding its defaults.

    The rendered document is validated like `POST /api/jobs` and saved with
    `job_save` (the actor owns the job, a version and an audit event are
    written); the job remembers the template's current version, and the
    template's audit log records an "instantiate". Raise
    `DocumentInvalidError` (API-shaped errors) and write nothing if the
    values or the resulting document are invalid.
    """
    document = template_render(template=template, values=values, name=name)
    validated = document_validate(document)
    fields = Job.field_defaults(MODEL_FIELDS)
    fields.update((k, v) for k, v in validated.items() if k in MODEL_FIELDS)
    version = template_latest_version(template)
    job = Job(owner=actor_user(actor), template_version=version, **fields)
    note = ""
    if version is not None:
        note = MSG_CREATED_FROM.format(template=template.name, number=version.number)
    job = job_save(
        job=job,
        schedules=list(validated["schedules"]),
        secrets=list(validated.get(SECRETS_KEY, [])),
        parameters=list(validated.get(PARAMETERS_KEY, [])),
        now=now,
        actor=actor,
        ip=ip,
        note=note,
    )
    audit_record(
        actor=actor,
        action=ACTION_INSTANTIATE,
        target=template,
        changes={"job": [None, job.name], "values": [None, values]},
        ip=ip,
        now=now,
    )
    return job


@dataclass(frozen=True)
class TemplateUpdate:
    """A newer version of the template a job was made from, and its changes."""

    template: JobTemplate
    current: JobTemplateVersion
    latest: JobTemplateVersion
    changes: list[Change]


def job_template_update(job: Job) -> TemplateUpdate | None:
    """Return the newer template version `job` could follow, or None."""
    current = job.template_version
    if current is None:
        return None
    latest = template_latest_version(current.template)
    if latest is None or latest.number <= current.number:
        return None
    changes = template_version_diff(old=current, new=latest)
    return TemplateUpdate(current.template, current, latest, changes)
