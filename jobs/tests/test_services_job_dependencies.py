"""Dependencies saved with a job: checks, versions, audit, export and import."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from jobs.documents import job_to_document
from jobs.models import Job, JobDependency, JobVersion
from jobs.services.grants import job_rights_set
from jobs.services.job_dependencies import (
    MSG_CYCLE,
    MSG_SELF,
    MSG_TWICE,
    MSG_UNKNOWN_JOB,
)
from jobs.services.jobs import job_save, job_version_restore
from jobs.services.transfer import (
    MSG_IMPORT_CYCLE,
    JobImportError,
    jobs_export,
    jobs_import,
)
from jobs.services.versions import job_version_diff
from jobs.tests.factories import JobFactory

pytestmark = pytest.mark.django_db

MANUAL = [{"type": "manual"}]


def dep(name: str, window_hours: int | None = None) -> dict[str, Any]:
    return {"job": name, "window_hours": window_hours}


def make(name: str, now: datetime, *deps: dict[str, Any], **fields: Any) -> Job:
    job = JobFactory.create(name=name, schedules=MANUAL, now=now, **fields)
    if deps:
        job = job_save(job=job, schedules=None, now=now, dependencies=list(deps))
    return job


def save_deps(job: Job, now: datetime, *deps: dict[str, Any], actor: Any = None) -> Job:
    return job_save(
        job=Job.objects.get(pk=job.pk),
        schedules=None,
        now=now,
        dependencies=list(deps),
        actor=actor,
    )


def upstream_names(job: Job) -> list[str]:
    return sorted(
        JobDependency.objects.filter(job=job).values_list("depends_on__name", flat=True)
    )


def refused(call: Callable[[], Any]) -> list[str]:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value.message_dict["dependencies"]


def test_dependencies_are_stored_and_in_the_document(
    scripts_dir: Any, now: datetime
) -> None:
    make("extract", now)
    transform = make("transform", now, dep("extract", 24))
    assert upstream_names(transform) == ["extract"]
    document = job_to_document(transform)
    assert document["dependencies"] == [dep("extract", 24)]
    assert document["dependency_mode"] == "all_success"


def test_a_job_cannot_depend_on_itself(scripts_dir: Any, now: datetime) -> None:
    job = make("a", now)
    assert refused(lambda: save_deps(job, now, dep("a"))) == [MSG_SELF]
    assert upstream_names(job) == []


def test_an_unknown_or_repeated_job_is_named(scripts_dir: Any, now: datetime) -> None:
    make("a", now)
    job = make("b", now)
    messages = refused(lambda: save_deps(job, now, dep("a"), dep("a"), dep("zz")))
    assert messages == [
        MSG_TWICE.format(name="a"),
        MSG_UNKNOWN_JOB.format(name="zz"),
    ]


def test_a_cycle_is_refused_and_named(scripts_dir: Any, now: datetime) -> None:
    """C after B after A; A after C would close A → B → C → A."""
    a = make("A", now)
    make("B", now, dep("A"))
    make("C", now, dep("B"))
    messages = refused(lambda: save_deps(a, now, dep("C")))
    assert messages == [MSG_CYCLE.format(cycle="A → B → C → A")]
    assert upstream_names(a) == []


def test_a_deactivated_upstream_is_allowed(scripts_dir: Any, now: datetime) -> None:
    make("off", now, is_active=False)
    job = make("b", now, dep("off"))
    assert upstream_names(job) == ["off"]


def test_a_user_may_only_depend_on_jobs_they_may_view(
    scripts_dir: Any, now: datetime, make_user: Callable[..., User]
) -> None:
    """A user with per-job rights only: a job they cannot see reads as unknown."""
    user = make_user("eve")
    make("secret-job", now)
    mine = make("mine", now)
    seen = make("seen", now)
    for job in (mine, seen):
        job_rights_set(
            job=job, grantee=user, rights=["change_job"], actor=None, now=now
        )
    assert refused(lambda: save_deps(mine, now, dep("secret-job"), actor=user)) == [
        MSG_UNKNOWN_JOB.format(name="secret-job")
    ]
    save_deps(mine, now, dep("seen"), actor=user)
    assert upstream_names(mine) == ["seen"]


def test_versions_diff_and_audit_name_the_dependencies(
    scripts_dir: Any, now: datetime
) -> None:
    make("a", now)
    job = make("b", now)
    save_deps(job, now, dep("a", 6))
    first, second = JobVersion.objects.filter(job=job).order_by("number")
    changes = job_version_diff(old=first, new=second)
    assert [c.path for c in changes] == ["dependencies[0]"]
    event = AuditEvent.objects.filter(target_id=str(job.pk)).order_by("-pk").first()
    assert event is not None
    assert event.changes["dependencies[0]"] == [None, dep("a", 6)]
    job_version_restore(version=first, actor=None, now=now)
    assert upstream_names(job) == []


def test_export_then_import_round_trips_dependencies(
    scripts_dir: Any, now: datetime
) -> None:
    make("extract", now)
    make("transform", now, dep("extract", 2), dependency_mode="any_success")
    documents = jobs_export()
    Job.objects.all().delete()
    # The downstream job comes first in the file: the import orders them.
    result = jobs_import(documents=documents[::-1], now=now, dry_run=False)
    assert sorted(result.created) == ["extract", "transform"]
    assert jobs_export() == documents


def test_an_import_naming_an_unknown_job_fails_whole(
    scripts_dir: Any, now: datetime
) -> None:
    documents = [
        {"name": "x", "script": "ok.py", "schedules": MANUAL},
        {
            "name": "y",
            "script": "ok.py",
            "schedules": MANUAL,
            "dependencies": [dep("nowhere")],
        },
    ]
    with pytest.raises(JobImportError) as info:
        jobs_import(documents=documents, now=now, dry_run=False)
    assert info.value.messages == [
        'Job "y": dependencies: ' + MSG_UNKNOWN_JOB.format(name="nowhere")
    ]
    assert not Job.objects.exists()


def test_an_import_closing_a_cycle_fails_whole(scripts_dir: Any, now: datetime) -> None:
    make("A", now)
    make("B", now, dep("A"))
    documents = [
        {
            "name": "A",
            "script": "ok.py",
            "schedules": MANUAL,
            "dependencies": [dep("B")],
        }
    ]
    with pytest.raises(JobImportError) as info:
        jobs_import(documents=documents, now=now, dry_run=False)
    assert info.value.messages == [MSG_IMPORT_CYCLE.format(cycle="A → B → A")]
    assert upstream_names(Job.objects.get(name="A")) == []
