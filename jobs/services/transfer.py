"""Import and export of job documents (`exportjobs`, `importjobs`, the API).

An import is declarative: each document describes a whole job, matched to an
existing job by name. A key a document leaves out takes the model's default,
and jobs the import does not name are left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import QuerySet

from accounts.actors import Actor, actor_user
from jobs import dependency_rules as rules
from jobs.document_schema import (
    NON_FIELD_ERRORS_KEY,
    DocumentInvalidError,
    document_validate,
)
from jobs.documents import (
    BLACKOUTS_KEY,
    DEPENDENCIES_KEY,
    DEPENDENCY_JOB_KEY,
    MODEL_FIELDS,
    PARAMETERS_KEY,
    SECRETS_KEY,
    document_path,
    job_to_document,
)
from jobs.errors import JobsError
from jobs.models import BlackoutCalendar, Job, JobDependency, Secret
from jobs.schedule import interval_starts_stamp
from jobs.services.job_dependencies import MSG_CYCLE, MSG_UNKNOWN_JOB
from jobs.services.jobs import job_save

logger = logging.getLogger(__name__)

MSG_JOB_NAMED = 'Job "{name}"'
MSG_JOB_AT = "Job #{position}"
MSG_DUPLICATE = "name: Used by more than one job in this import ({positions})."
MSG_IMPORT_CYCLE = "Import: " + MSG_CYCLE


@dataclass(frozen=True)
class ImportResult:
    """What an import did, or would do in a dry run, by job name."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


class JobImportError(JobsError, ValueError):
    """Some job documents are invalid, so the import wrote nothing."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass
class _Plan:
    """One valid document, applied to a (possibly new) unsaved job."""

    job: Job
    schedules: list[dict[str, Any]]
    action: str  # "created", "updated" or "unchanged"
    secrets: list[Secret] = field(default_factory=list)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    blackouts: list[BlackoutCalendar] = field(default_factory=list)
    dependencies: list[dict[str, Any]] = field(default_factory=list)


def jobs_export(*, queryset: QuerySet[Job] | None = None) -> list[dict[str, Any]]:
    """Return the jobs of `queryset` (default: all) as documents, by name."""
    if queryset is None:
        queryset = Job.objects.all()
    jobs = queryset.order_by("name").prefetch_related(
        "schedules",
        "secrets",
        "parameters",
        "blackout_calendars",
        "dependencies__depends_on",
    )
    return [job_to_document(job) for job in jobs]


def jobs_import(
    *,
    documents: Sequence[Any],
    now: datetime,
    owner: Actor = None,
    dry_run: bool,
) -> ImportResult:
    """Create or update one job per document, matched by name, all or nothing.

    Each document is validated like an API request (`document_validate`)
    and saved with `job_save`, so `next_run_at` is recomputed. An existing
    job is updated in place (same pk, runs kept); one whose document equals
    its current state is not written at all. New jobs get `owner`.

    Raise `JobImportError` listing every invalid job, by name or by position
    when it has no usable name, with the field at fault; nothing is written
    then. With `dry_run`, validate and classify but write nothing.
    """
    with transaction.atomic():
        plans = _plan(documents, owner=owner, now=now)
        if not dry_run:
            for label, plan in plans:
                if plan.action != "unchanged":
                    _save(label, plan, now=now)
    result = ImportResult(
        created=[p.job.name for _, p in plans if p.action == "created"],
        updated=[p.job.name for _, p in plans if p.action == "updated"],
        unchanged=[p.job.name for _, p in plans if p.action == "unchanged"],
    )
    logger.info(
        "Imported jobs%s: %d created, %d updated, %d unchanged",
        " (dry run)" if dry_run else "",
        len(result.created),
        len(result.updated),
        len(result.unchanged),
    )
    return result


def _plan(
    items: Sequence[Any], *, owner: Actor, now: datetime
) -> list[tuple[str, _Plan]]:
    """Validate every document and decide what to do with each, or raise."""
    labels = [_label(item, position) for position, item in enumerate(items, 1)]
    names = [_name(item) for item in items]
    existing = {
        job.name: job
        for job in Job.objects.filter(
            name__in=[n for n in names if n]
        ).prefetch_related(
            "schedules", "secrets", "parameters", "dependencies__depends_on"
        )
    }
    errors = _duplicates(names, labels)
    plans = []
    for label, name, item in zip(labels, names, items, strict=True):
        instance = existing.get(name) if name else None
        try:
            validated = document_validate(item, instance=instance)
        except DocumentInvalidError as exc:
            errors.extend(_in_job(label, _flatten(exc.errors)))
            continue
        plans.append((label, _apply(validated, instance, owner, now=now)))
    errors.extend(_dependency_errors(plans))
    if errors:
        raise JobImportError(errors)
    return _upstreams_first(plans)


def _dependency_errors(plans: list[tuple[str, _Plan]]) -> list[str]:
    """Name dependencies on jobs neither stored nor imported, and cycles."""
    graph = _stored_graph()
    graph.update((p.job.name, _upstream_names(p)) for _, p in plans)
    known = set(graph) | set(Job.objects.values_list("name", flat=True))
    errors = []
    for label, plan in plans:
        for name in _upstream_names(plan):
            if name not in known:
                message = MSG_UNKNOWN_JOB.format(name=name)
                errors.extend(_in_job(label, [f"{DEPENDENCIES_KEY}: {message}"]))
    if errors:
        return errors
    cycle = rules.find_cycle(graph)
    if cycle is not None:
        return [MSG_IMPORT_CYCLE.format(cycle=rules.cycle_text(cycle))]
    return []


def _stored_graph() -> dict[str, list[str]]:
    """Return the stored dependencies as job name -> upstream names."""
    graph: dict[str, list[str]] = {}
    rows = JobDependency.objects.values_list("job__name", "depends_on__name")
    for downstream, upstream in rows:
        graph.setdefault(downstream, []).append(upstream)
    return graph


def _upstream_names(plan: _Plan) -> list[str]:
    return [str(d[DEPENDENCY_JOB_KEY]) for d in plan.dependencies]


def _upstreams_first(plans: list[tuple[str, _Plan]]) -> list[tuple[str, _Plan]]:
    """Order plans so that each job is saved after the imported jobs it needs.

    The graph has no cycle (checked before), so every pass places one.
    """
    pending = list(plans)
    placed: list[tuple[str, _Plan]] = []
    while pending:
        waiting = {p.job.name for _, p in pending}
        ready = next(
            item
            for item in pending
            if not waiting.intersection(_upstream_names(item[1]))
        )
        pending.remove(ready)
        placed.append(ready)
    return placed


def _apply(
    validated: Mapping[str, Any], instance: Job | None, owner: Actor, *, now: datetime
) -> _Plan:
    """Set the document's values (defaults for the missing) on the job.

    Intervals without a start get the one `job_save` would give them, so
    that a document that leaves it out can still be "unchanged".
    """
    values = Job.field_defaults(MODEL_FIELDS)
    values.update((k, v) for k, v in validated.items() if k in MODEL_FIELDS)
    schedules = list(validated["schedules"])
    secrets = list(validated.get(SECRETS_KEY, []))
    blackouts = list(validated.get(BLACKOUTS_KEY, []))
    dependencies = list(validated.get(DEPENDENCIES_KEY, []))
    plan = _Plan(
        job=instance or Job(owner=actor_user(owner), **values),
        schedules=schedules,
        action="created",
        secrets=secrets,
        parameters=list(validated.get(PARAMETERS_KEY, [])),
        blackouts=blackouts,
        dependencies=dependencies,
    )
    if instance is None:
        return plan
    before = job_to_document(instance)
    schedules = interval_starts_stamp(
        schedules, previous=instance.schedule_documents(), now=now
    )
    for name, value in values.items():
        setattr(instance, name, value)
    after = job_to_document(
        instance,
        schedules=schedules,
        secrets=[s.name for s in secrets],
        parameters=plan.parameters,
        blackouts=[c.name for c in blackouts],
        dependencies=dependencies,
    )
    plan.schedules = schedules
    plan.action = "unchanged" if after == before else "updated"
    return plan


def _save(label: str, plan: _Plan, *, now: datetime) -> None:
    """Save one planned job, turning a late ValidationError into ours."""
    try:
        job_save(
            job=plan.job,
            schedules=plan.schedules,
            now=now,
            secrets=plan.secrets,
            parameters=plan.parameters,
            blackouts=plan.blackouts,
            dependencies=plan.dependencies,
        )
    except ValidationError as exc:
        # The serializer ran the same validators; this catches what only the
        # database knows, such as a job of that name created meanwhile.
        if hasattr(exc, "error_dict"):
            errors = {
                document_path(key): messages
                for key, messages in exc.message_dict.items()
            }
            messages = _flatten(errors)
        else:
            messages = list(exc.messages)
        raise JobImportError(_in_job(label, messages)) from None


def _name(item: Any) -> str | None:
    """Return the document's name if it is a usable one."""
    if isinstance(item, Mapping):
        name = item.get("name")
        if isinstance(name, str) and name.strip():
            return name
    return None


def _label(item: Any, position: int) -> str:
    """Return how messages name the job: by name, else by position."""
    name = _name(item)
    if name is None:
        return MSG_JOB_AT.format(position=position)
    return MSG_JOB_NAMED.format(name=name)


def _in_job(label: str, messages: list[str]) -> list[str]:
    return [f"{label}: {message}" for message in messages]


def _duplicates(names: list[str | None], labels: list[str]) -> list[str]:
    """Return an error for each name that more than one document uses."""
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(names, 1):
        if name is not None:
            positions.setdefault(name, []).append(position)
    errors = []
    for found in positions.values():
        if len(found) > 1:
            where = ", ".join(f"#{p}" for p in found)
            label = labels[found[0] - 1]
            errors.extend(_in_job(label, [MSG_DUPLICATE.format(positions=where)]))
    return errors


def _flatten(errors: Any, path: str = "") -> list[str]:
    """Return errors shaped as the API's as "field.sub: message" lines."""
    if isinstance(errors, Mapping):
        lines = []
        for key, value in errors.items():
            whole = key in (NON_FIELD_ERRORS, NON_FIELD_ERRORS_KEY)
            inner = "" if whole else str(key)
            lines.extend(_flatten(value, ".".join(p for p in (path, inner) if p)))
        return lines
    if isinstance(errors, list | tuple):
        return [line for value in errors for line in _flatten(value, path)]
    return [f"{path}: {errors}" if path else str(errors)]
