"""The template admin: create a job from a template, versions, the job page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts.roles import ADMIN, EDITOR, VIEWER
from jobs.models import Job, JobTemplate
from jobs.services.templates import template_save
from jobs.tests.template_helpers import library_scripts, template_library

__all__ = ["library_scripts", "template_library"]

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("frozen_clock", "template_library"),
]


@pytest.fixture
def signed_in(
    client: Client, make_user: Callable[..., User]
) -> Callable[[str], Client]:
    """Return a function signing the test client in as a user of a role."""

    def sign_in(role: str) -> Client:
        client.force_login(make_user(role.lower(), role))
        return client

    return sign_in


def instantiate_url(name: str) -> str:
    """Return the "Create job" page of the library template `name`."""
    pk = JobTemplate.objects.get(name=name).pk
    return reverse("admin:jobs_jobtemplate_instantiate", args=[pk])


def test_the_form_offers_each_parameter_with_its_default(
    signed_in: Callable[[str], Client],
) -> None:
    """Defaults are filled in and descriptions shown."""
    page = signed_in(EDITOR).get(instantiate_url("File cleanup"))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'name="param_days" value="30"' in text
    assert 'name="job_name" value="file-cleanup"' in text
    assert "Delete files last modified more than this many days ago." in text


def test_creating_a_job_from_a_template_with_overrides(
    signed_in: Callable[[str], Client], library_scripts: Path
) -> None:
    """The job is made with the overrides, owned by the user, and opened."""
    answer = signed_in(EDITOR).post(
        instantiate_url("API data fetch"),
        {
            "job_name": "fetch-sales",
            "param_url": "http://127.0.0.1:9/sales",
            "param_output": "out/sales.json",
            "param_timeout": "5",
            "param_minute": "45",
        },
    )
    assert answer.status_code == 302
    job = Job.objects.get(name="fetch-sales")
    assert answer["Location"] == reverse("admin:jobs_job_change", args=[job.pk])
    assert job.args == ["http://127.0.0.1:9/sales", "out/sales.json", "5"]
    assert job.schedule_documents() == [{"type": "hourly", "minute": 45}]
    assert job.owner is not None
    assert job.owner.username == "editor"


def test_a_missing_required_value_is_a_form_error(
    signed_in: Callable[[str], Client], scripts_dir: Path
) -> None:
    """The URL is required: the form says so and no job is made."""
    page = signed_in(EDITOR).post(
        instantiate_url("API data fetch"), {"job_name": "f", "param_url": ""}
    )
    assert page.status_code == 200
    assert "This field is required." in page.content.decode()
    assert not Job.objects.exists()


def test_viewers_may_not_create_jobs_from_templates(
    signed_in: Callable[[str], Client],
) -> None:
    """The page is refused to those who may not create jobs."""
    assert signed_in(VIEWER).get(instantiate_url("File cleanup")).status_code == 403


def test_the_job_page_shows_a_newer_template_version_and_its_changes(
    signed_in: Callable[[str], Client], library_scripts: Path
) -> None:
    """After the template changes, the job page lists what changed."""
    client = signed_in(ADMIN)
    client.post(instantiate_url("File cleanup"), {"job_name": "clean"})
    job = Job.objects.get(name="clean")
    template = JobTemplate.objects.get(name="File cleanup")
    template.description = "Delete old files."
    template_save(template=template, now=job.created_at)
    page = client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    assert "From template" in page
    assert "Version 2 of the template is newer" in page
    assert "description: " in page


def test_versions_diff_and_restore_in_the_admin(
    signed_in: Callable[[str], Client],
) -> None:
    """The change form saves a version; restore brings version 1 back as 3."""
    client = signed_in(ADMIN)
    template = JobTemplate.objects.get(name="File cleanup")
    change = reverse("admin:jobs_jobtemplate_change", args=[template.pk])
    form = {
        "name": template.name,
        "category": "Housekeeping",
        "description": template.description,
        "parameters": '[{"name": "folder", "default": "x"}, {"name": "days", '
        '"default": "1"}, {"name": "pattern", "default": "*"}, '
        '{"name": "time", "default": "01:00"}]',
        "body": '{"name": "c", "script": "file_cleanup.py", "args": '
        '["{{ folder }}", "{{ days }}", "{{ pattern }}"], "schedules": '
        '[{"type": "daily", "time": "{{ time }}"}]}',
    }
    assert client.post(change, form).status_code == 302
    version = reverse("admin:jobs_jobtemplate_version", args=[template.pk, 2])
    page = client.get(version).content.decode()
    assert "category: &#x27;Maintenance&#x27; → &#x27;Housekeeping&#x27;" in page
    restore = reverse("admin:jobs_jobtemplate_version_restore", args=[template.pk, 1])
    assert client.post(restore).status_code == 302
    template.refresh_from_db()
    assert template.category == "Maintenance"
    assert template.versions.count() == 3


def test_an_undeclared_placeholder_is_a_form_error(
    signed_in: Callable[[str], Client],
) -> None:
    """The admin form refuses what the service refuses."""
    page = signed_in(ADMIN).post(
        reverse("admin:jobs_jobtemplate_add"),
        {"name": "t", "parameters": "[]", "body": '{"script": "{{ x }}"}'},
    )
    assert page.status_code == 200
    assert "Placeholder {{ x }} names no declared parameter." in page.content.decode()


def test_deleting_a_template_in_the_admin_is_audited(
    signed_in: Callable[[str], Client],
) -> None:
    """The admin's delete goes through the service."""
    from accounts.models import AuditEvent

    template = JobTemplate.objects.get(name="File cleanup")
    url = reverse("admin:jobs_jobtemplate_delete", args=[template.pk])
    assert signed_in(ADMIN).post(url, {"post": "yes"}).status_code == 302
    assert not JobTemplate.objects.filter(name="File cleanup").exists()
    assert AuditEvent.objects.filter(
        action="delete", target_type="jobs.jobtemplate", target_repr="File cleanup"
    ).exists()
