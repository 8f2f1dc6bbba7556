"""Template services: save with versions, diff, restore, instantiate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from jobs.document_schema import DocumentInvalidError
from jobs.models import JobTemplate
from jobs.services.templates import (
    ACTION_INSTANTIATE,
    job_template_update,
    template_delete,
    template_instantiate,
    template_save,
    template_version_diff,
    template_version_restore,
)
from jobs.template_text import MSG_MISSING_VALUE, MSG_UNKNOWN_PLACEHOLDER
from jobs.tests.template_helpers import template_library

__all__ = ["template_library"]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("template_library")]

SHIPPED = ("API data fetch", "Database backup", "File cleanup", "Report generation")


def make_template(now: datetime, actor: Any = None, **fields: Any) -> JobTemplate:
    """Save a small template: ok.py with a required and a defaulted parameter."""
    values: dict[str, Any] = {
        "name": "hello-template",
        "category": "Examples",
        "parameters": [
            {"name": "who", "default": None, "description": "Whom to greet"},
            {"name": "minute", "default": 15},
        ],
        "body": {
            "name": "hello",
            "script": "ok.py",
            "args": ["{{ who }}"],
            "schedules": [{"type": "hourly", "minute": "{{ minute }}"}],
        },
    }
    values.update(fields)
    return template_save(template=JobTemplate(**values), now=now, actor=actor)


def test_the_library_ships_four_templates_with_scripts_and_a_version() -> None:
    """The migration's library: each template at version 1, its script exists."""
    scripts = Path(__file__).resolve().parents[2] / "scripts"
    templates = JobTemplate.objects.filter(name__in=SHIPPED).order_by("name")
    assert [t.name for t in templates] == list(SHIPPED)
    for template in templates:
        assert [v.number for v in template.versions.all()] == [1]
        assert (scripts / template.body["script"]).is_file()


def test_every_save_that_changes_a_template_stores_a_version(now: datetime) -> None:
    """Create is v1, a change v2, an unchanged save nothing."""
    template = make_template(now)
    template.description = "Greets"
    template_save(template=template, now=now + timedelta(seconds=1))
    template_save(template=template, now=now + timedelta(seconds=2))
    assert [v.number for v in template.versions.all()] == [2, 1]
    events = AuditEvent.objects.filter(target_type="jobs.jobtemplate")
    assert list(events.values_list("action", flat=True).order_by("pk")) == [
        "create",
        "update",
    ]


def test_save_refuses_an_undeclared_placeholder(now: datetime) -> None:
    """The body may only use declared parameters; nothing is written."""
    with pytest.raises(ValidationError) as caught:
        make_template(now, body={"name": "x", "script": "{{ scrpt }}"})
    assert caught.value.message_dict == {
        "body": [MSG_UNKNOWN_PLACEHOLDER.format(name="scrpt")]
    }
    assert not JobTemplate.objects.filter(name="hello-template").exists()


def test_version_diff_and_restore(
    now: datetime, make_user: Callable[..., User]
) -> None:
    """The diff names the changed path; restore is a new version, audited."""
    admin = make_user("root", "Admin")
    template = make_template(now)
    template.body = {**template.body, "args": ["--loud", "{{ who }}"]}
    template_save(template=template, now=now, actor=admin)
    v2, v1 = list(template.versions.all())
    assert [str(c) for c in template_version_diff(old=v1, new=v2)] == [
        "body.args[0]: '{{ who }}' → '--loud'",
        "body.args[1]: added '{{ who }}'",
    ]
    restored = template_version_restore(version=v1, actor=admin, now=now)
    assert restored.body["args"] == ["{{ who }}"]
    v3 = restored.versions.first()
    assert v3 is not None
    assert (v3.number, v3.note, v3.snapshot) == (3, "Restored version 1.", v1.snapshot)
    assert AuditEvent.objects.filter(action="restore", target_id=str(template.pk))


def test_instantiate_with_overrides_creates_a_job_that_remembers_the_version(
    now: datetime, scripts_dir: Path, make_user: Callable[..., User]
) -> None:
    """Overrides fill the placeholders; the actor owns the job."""
    editor = make_user("ed", "Editor")
    template = make_template(now)
    job = template_instantiate(
        template=template,
        values={"who": "world", "minute": 40},
        name="hello-world",
        now=now,
        actor=editor,
    )
    assert (job.name, job.args, job.owner) == ("hello-world", ["world"], editor)
    assert job.schedule_documents() == [{"type": "hourly", "minute": 40}]
    assert job.template_version == template.versions.get(number=1)
    assert job.versions.get().note == "Created from template hello-template v1."
    event = AuditEvent.objects.get(action=ACTION_INSTANTIATE)
    assert event.changes["job"] == [None, "hello-world"]


def test_instantiate_refuses_missing_values_and_writes_nothing(
    now: datetime, scripts_dir: Path
) -> None:
    """A required parameter left out is named under "parameters"."""
    template = make_template(now)
    with pytest.raises(DocumentInvalidError) as caught:
        template_instantiate(template=template, values={}, now=now)
    assert caught.value.errors == {"parameters": [MSG_MISSING_VALUE.format(name="who")]}
    assert not template.versions.get().jobs.exists()


def test_instantiate_refuses_an_invalid_resulting_document(
    now: datetime, scripts_dir: Path
) -> None:
    """The rendered document goes through the job schema: minute 99 is named."""
    template = make_template(now)
    with pytest.raises(DocumentInvalidError) as caught:
        template_instantiate(
            template=template, values={"who": "x", "minute": 99}, now=now
        )
    assert list(caught.value.errors) == ["schedules"]


def test_job_shows_a_newer_template_version_and_what_changed(
    now: datetime, scripts_dir: Path
) -> None:
    """After the template changes, the job's update lists the changes."""
    template = make_template(now)
    job = template_instantiate(template=template, values={"who": "x"}, now=now)
    assert job_template_update(job) is None
    template.description = "New"
    template_save(template=template, now=now)
    update = job_template_update(job)
    assert update is not None
    assert (update.current.number, update.latest.number) == (1, 2)
    assert [str(c) for c in update.changes] == ["description: '' → 'New'"]


def test_deleting_a_template_is_audited_and_its_jobs_stay(
    now: datetime, scripts_dir: Path
) -> None:
    """The jobs made from it forget their origin; the delete is an audit event."""
    template = make_template(now)
    job = template_instantiate(template=template, values={"who": "x"}, now=now)
    template_delete(template=template, now=now)
    job.refresh_from_db()
    assert job.template_version is None
    event = AuditEvent.objects.filter(target_type="jobs.jobtemplate").latest("pk")
    assert (event.action, event.target_repr) == ("delete", "hello-template")
