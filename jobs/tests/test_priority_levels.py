"""Priority level names through the admin, the API and export/import."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.roles import ADMIN, EDITOR, VIEWER
from jobs.models import Job
from jobs.priorities import MSG_PRIORITY
from jobs.tests.factories import JobFactory
from jobs.tests.test_admin_jobs import change_form_data, job_form_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

DOCUMENT = {
    "name": "nightly",
    "script": "ok.py",
    "timezone": "Asia/Hong_Kong",
    "schedules": [{"type": "daily", "time": "09:00"}],
}


@pytest.fixture
def admin_user(scripts_dir: Path, make_user: Callable[..., User]) -> User:
    """Return an Admin-role superuser."""
    return make_user("root", ADMIN, is_superuser=True)


@pytest.fixture
def web(admin_user: User) -> Client:
    """Return the admin client of `admin_user`."""
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def api(make_user: Callable[..., User], scripts_dir: Path) -> APIClient:
    """Return an API client of an Editor."""
    client = APIClient()
    client.force_authenticate(make_user("ed", EDITOR))
    return client


def save_job(now: datetime, **fields: object) -> Job:
    """Save a daily job through the service."""
    return JobFactory.create(
        name="nightly",
        schedules=[{"type": "daily", "time": "09:00"}],
        now=now,
        timezone="Asia/Hong_Kong",
        **fields,
    )


@pytest.mark.parametrize(("name", "number"), [("high", 10), ("low", -10)])
def test_the_admin_saves_a_level_name_as_its_integer(
    web: Client, name: str, number: int
) -> None:
    """The add form takes the name."""
    response = web.post(reverse("admin:jobs_job_add"), job_form_data(priority=name))

    assert response.status_code == 302
    assert Job.objects.get().priority == number


def test_the_admin_shows_a_level_by_name_in_the_form_and_the_list(
    web: Client, now: datetime
) -> None:
    """The change form's box holds "high"; the list's column says "high"."""
    job = save_job(now, priority=10)

    form = web.get(reverse("admin:jobs_job_change", args=[job.pk]))
    listing = web.get(reverse("admin:jobs_job_changelist"))

    assert form.context["adminform"].form["priority"].value() == "high"
    assert 'name="priority" value="high"' in form.content.decode()
    assert '<datalist id="jobs-priorities">' in form.content.decode()
    assert '<td class="field-priority_level">high</td>' in listing.content.decode()


def test_the_admin_keeps_other_integers_as_numbers(web: Client, now: datetime) -> None:
    """A job at 5 shows 5 and saves back as 5."""
    job = save_job(now, priority=5)

    page = web.get(reverse("admin:jobs_job_change", args=[job.pk]))
    response = web.post(
        reverse("admin:jobs_job_change", args=[job.pk]),
        change_form_data(job, priority="5", description="again"),
    )

    assert 'name="priority" value="5"' in page.content.decode()
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.priority, job.description) == (5, "again")


def test_the_admin_refuses_an_unknown_level_naming_the_choices(web: Client) -> None:
    """A form error, no job."""
    response = web.post(reverse("admin:jobs_job_add"), job_form_data(priority="urgent"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["priority"] == [MSG_PRIORITY]
    assert Job.objects.exists() is False


def test_the_api_takes_names_and_integers_and_answers_integers(
    api: APIClient,
) -> None:
    """POST "low", PATCH "High", PATCH 3: stored and shown as integers."""
    created = api.post("/api/jobs", {**DOCUMENT, "priority": "low"}, format="json")
    url = f"/api/jobs/{created.json()['id']}"

    assert (created.status_code, created.json()["priority"]) == (201, -10)
    patched = api.patch(url, {"priority": "High"}, format="json")
    assert patched.json()["priority"] == 10
    assert api.patch(url, {"priority": 3}, format="json").json()["priority"] == 3
    refused = api.patch(url, {"priority": "urgent"}, format="json")
    assert (refused.status_code, refused.json()) == (
        400,
        {"priority": [MSG_PRIORITY]},
    )
    assert Job.objects.get().priority == 3


def test_a_get_answer_put_back_unchanged_keeps_the_level(api: APIClient) -> None:
    """The document round-trips through the API."""
    created = api.post("/api/jobs", {**DOCUMENT, "priority": "high"}, format="json")
    url = f"/api/jobs/{created.json()['id']}"

    again = api.put(url, api.get(url).json(), format="json")

    assert again.status_code == 200
    assert Job.objects.get().priority == 10


def test_names_round_trip_through_import_and_export(
    scripts_dir: Path, tmp_path: Path
) -> None:
    """Import "high"/"low", export, import the export: nothing changes."""
    source = tmp_path / "jobs.json"
    source.write_text(
        json.dumps(
            [
                {**DOCUMENT, "priority": "high"},
                {**DOCUMENT, "name": "cleanup", "priority": "low"},
            ]
        )
    )
    out = StringIO()
    call_command("importjobs", str(source), stdout=out)
    assert out.getvalue() == "Created 2, updated 0, unchanged 0\n"

    exported = tmp_path / "export.json"
    call_command("exportjobs", output=str(exported), stdout=StringIO())
    by_name = {doc["name"]: doc["priority"] for doc in json.loads(exported.read_text())}
    again = StringIO()
    call_command("importjobs", str(exported), stdout=again)

    assert by_name == {"cleanup": -10, "nightly": 10}
    assert again.getvalue() == "Created 0, updated 0, unchanged 2\n"
    assert dict(Job.objects.values_list("name", "priority")) == by_name


def test_a_viewer_reads_the_level_name_on_the_job_page(
    make_user: Callable[..., User], scripts_dir: Path, now: datetime
) -> None:
    """The read-only page shows "low", not -10."""
    job = save_job(now, priority=-10)
    client = Client()
    client.force_login(make_user("vic", VIEWER))

    page = client.get(reverse("admin:jobs_job_change", args=[job.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert '<div class="readonly">low</div>' in html
