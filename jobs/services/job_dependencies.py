"""Which jobs a job depends on: checked and stored when the job is saved.

`job_save` calls `dependencies_resolve` before anything is written and
`dependencies_store` after the job has its pk, so the admin, the API and
the import refuse the same dependencies with the same messages: an unknown
job (or one the actor may not see, which reads the same), the job itself,
a job listed twice, or a cycle, named in the order runs would flow
(`A → B → C → A`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from accounts.actors import Actor, actor_user
from jobs import dependency_rules as rules
from jobs.documents import DEPENDENCIES_KEY, DEPENDENCY_JOB_KEY, DEPENDENCY_WINDOW_KEY
from jobs.models import Job, JobDependency
from jobs.permissions import can_view_job

MSG_UNKNOWN_JOB = "No job is named {name!r}."
MSG_SELF = "A job cannot depend on itself."
MSG_TWICE = "{name!r} is listed more than once."
MSG_CYCLE = "These dependencies make a cycle: {cycle}."
# The graph key of a job not saved yet.
_NEW = -1


@dataclass(frozen=True)
class Upstream:
    """One resolved dependency: the upstream job and its window."""

    job: Job
    window_hours: int | None


def dependencies_resolve(
    *, job: Job, documents: Sequence[Mapping[str, Any]], actor: Actor
) -> list[Upstream]:
    """Return the upstream jobs `documents` name for `job`, or raise.

    Raise `ValidationError` keyed by "dependencies" with every problem. A
    newly named upstream must be visible to `actor` (commands: anyone);
    one the job already had stays allowed.
    """
    names = [str(d[DEPENDENCY_JOB_KEY]) for d in documents]
    found = {j.name: j for j in Job.objects.filter(name__in=names)}
    kept = set() if job.pk is None else _upstream_ids(job.pk)
    user = actor_user(actor)
    errors: list[str] = []
    upstreams: list[Upstream] = []
    seen: set[str] = set()
    for document, name in zip(documents, names, strict=True):
        upstream = found.get(name)
        visible = upstream is not None and (
            actor is None or upstream.pk in kept or can_view_job(user, upstream)
        )
        if name in seen:
            errors.append(MSG_TWICE.format(name=name))
        elif name == job.name or (upstream is not None and upstream.pk == job.pk):
            errors.append(MSG_SELF)
        elif upstream is None or not visible:
            errors.append(MSG_UNKNOWN_JOB.format(name=name))
        else:
            upstreams.append(Upstream(upstream, document.get(DEPENDENCY_WINDOW_KEY)))
        seen.add(name)
    if not errors:
        cycle = dependency_cycle(job=job, upstream_ids=[u.job.pk for u in upstreams])
        if cycle is not None:
            errors.append(MSG_CYCLE.format(cycle=rules.cycle_text(cycle)))
    if errors:
        raise ValidationError({DEPENDENCIES_KEY: errors})
    return upstreams


def dependency_cycle(*, job: Job, upstream_ids: Iterable[int]) -> list[str] | None:
    """Return the cycle `job` would close with these upstream jobs, or None."""
    key = job.pk if job.pk is not None else _NEW
    names = dict(Job.objects.values_list("pk", "name"))
    names[key] = job.name
    edges: dict[int, list[int]] = {}
    stored = JobDependency.objects.exclude(job_id=key).values_list(
        "job_id", "depends_on_id"
    )
    for downstream, upstream in stored:
        edges.setdefault(downstream, []).append(upstream)
    edges[key] = list(upstream_ids)
    cycle = rules.find_cycle(
        {names[down]: [names[up] for up in ups] for down, ups in edges.items()}
    )
    return cycle


def dependencies_store(*, job: Job, upstreams: Sequence[Upstream]) -> None:
    """Replace the stored dependencies of the saved `job` with `upstreams`."""
    wanted = {u.job.pk: u.window_hours for u in upstreams}
    current = {d.depends_on_id: d for d in JobDependency.objects.filter(job=job)}
    JobDependency.objects.filter(job=job).exclude(depends_on_id__in=wanted).delete()
    for upstream_id, window in wanted.items():
        row = current.get(upstream_id)
        if row is None:
            row = JobDependency(job=job, depends_on_id=upstream_id)
        elif row.window_hours == window:
            continue
        row.window_hours = window
        row.full_clean(validate_unique=False, validate_constraints=False)
        row.save()


def _upstream_ids(job_id: int) -> set[int]:
    return set(
        JobDependency.objects.filter(job_id=job_id).values_list(
            "depends_on_id", flat=True
        )
    )
