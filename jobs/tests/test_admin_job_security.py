"""The job admin's script dropdown, secrets, parameter rows and run form."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.roles import EDITOR
from accounts.services.roles import roles_sync
from jobs import parameters as params
from jobs.admin.run_parameters import SUBMITTED
from jobs.admin.script_display import MSG_CHOICE_NEW
from jobs.models import (
    MSG_PARAMETER_DUPLICATE,
    Job,
    JobParameter,
    JobRun,
    JobVersion,
    Script,
)
from jobs.services.jobs import job_save
from jobs.services.parameters import MSG_REQUIRED
from jobs.tests.factories import JobFactory
from jobs.tests.security_helpers import approved_script, make_secret, make_user
from jobs.tests.test_admin_jobs import change_form_data, job_form_data

# "now" is pinned to 2026-03-01 00:00 UTC for every test here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

VALUE = "hunter2-xyz-secret"


@pytest.fixture
def client(settings: Any, scripts_dir: Path) -> Client:
    """Return a superuser's client, with the example scripts in place."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = Client()
    client.force_login(make_user("root", superuser=True))
    return client


def make_job(now: datetime, **fields: Any) -> Job:
    """Save a manual job through the service."""
    fields.setdefault("name", "report")
    return JobFactory.create(
        schedules=[{"type": "daily", "time": "09:00"}], now=now, **fields
    )


def parameter_rows(*rows: dict[str, str]) -> dict[str, str]:
    """Return the POST data of new parameter rows."""
    data = {"parameters-TOTAL_FORMS": str(len(rows))}
    for index, row in enumerate(rows):
        defaults = {"type": "string", "default": "", "choices": "[]", "position": "0"}
        for key, value in {**defaults, **row}.items():
            data[f"parameters-{index}-{key}"] = value
    return data


# --- the job form ---------------------------------------------------------------


def test_the_script_box_is_a_dropdown_of_files_with_their_status(
    client: Client, now: datetime
) -> None:
    """Approved and new scripts are offered, each saying where it stands."""
    approved_script("ok.py", by=make_user("alice", approver=True), now=now)
    html = client.get(reverse("admin:jobs_job_add")).content.decode()
    assert '<select name="script"' in html
    assert '<option value="ok.py">ok.py (approved)</option>' in html
    assert escape(f"fail.py ({MSG_CHOICE_NEW})") in html
    assert escape(f"nested/report.sh ({MSG_CHOICE_NEW})") in html


def test_saving_a_job_registers_its_script_for_review(client: Client) -> None:
    """A new file picked in the dropdown is registered, pending review."""
    response = client.post(
        reverse("admin:jobs_job_add"), job_form_data(script="fail.py")
    )
    assert response.status_code == 302
    assert Script.objects.get(path="fail.py").status == Script.Status.PENDING


def test_a_path_outside_the_dropdown_is_refused(client: Client) -> None:
    """A hand-made POST cannot name another file."""
    response = client.post(
        reverse("admin:jobs_job_add"), job_form_data(script="../etc/passwd.py")
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Job.objects.exists()


def test_secrets_are_chosen_by_name_and_versioned_without_values(
    client: Client, now: datetime
) -> None:
    """The form lists names; the job gets the secret; its version names it."""
    secret = make_secret("API_TOKEN", VALUE, now=now)
    page = client.get(reverse("admin:jobs_job_add")).content.decode()
    assert "API_TOKEN" in page
    assert VALUE not in page
    client.post(reverse("admin:jobs_job_add"), job_form_data(secrets=[str(secret.pk)]))
    job = Job.objects.get()
    assert list(job.secrets.values_list("name", flat=True)) == ["API_TOKEN"]
    assert JobVersion.objects.get(job=job).snapshot["secrets"] == ["API_TOKEN"]
    change = client.get(reverse("admin:jobs_job_change", args=[job.pk]))
    assert VALUE not in change.content.decode()


def test_parameters_are_edited_as_rows_under_the_job(client: Client) -> None:
    """A choice and an integer parameter are saved with the job."""
    data = job_form_data(
        **parameter_rows(
            {
                "name": "region",
                "type": "choice",
                "choices": '["apac", "emea"]',
                "default": "apac",
            },
            {"name": "batch", "type": "integer", "is_required": "on"},
        )
    )
    assert client.post(reverse("admin:jobs_job_add"), data).status_code == 302
    rows = JobParameter.objects.order_by("name").values_list(
        "name", "type", "is_required"
    )
    assert list(rows) == [("batch", "integer", True), ("region", "choice", False)]


def test_an_empty_choices_box_means_no_choices(client: Client) -> None:
    """A string parameter saved with the choices box left empty: no 500."""
    data = job_form_data(**parameter_rows({"name": "note", "choices": ""}))
    assert client.post(reverse("admin:jobs_job_add"), data).status_code == 302
    assert JobParameter.objects.get().choices == []


def test_parameter_rows_are_validated(client: Client) -> None:
    """Same name in another case, a default of the wrong type: refused."""
    data = job_form_data(
        **parameter_rows(
            {"name": "region"},
            {"name": "REGION"},
            {"name": "batch", "type": "integer", "default": "many"},
        )
    )
    response = client.post(reverse("admin:jobs_job_add"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert escape(MSG_PARAMETER_DUPLICATE) in html
    assert escape(params.MSG_INTEGER.format(value="many")) in html
    assert not Job.objects.exists()


# --- run now with parameters ---------------------------------------------------------


@pytest.fixture
def job_with_parameters(now: datetime) -> Job:
    """A job with region (choice, default apac), batch (int, required), dry_run."""
    job = make_job(now)
    JobParameter.objects.create(
        job=job, name="region", type="choice", choices=["apac", "emea"], default="apac"
    )
    JobParameter.objects.create(
        job=job,
        name="batch",
        type="integer",
        is_required=True,
        description="Rows per batch",
    )
    JobParameter.objects.create(job=job, name="dry_run", type="boolean")
    return job


def run_now(client: Client, job: Job, data: dict[str, str] | None = None) -> Any:
    """POST to the job's "Run now" view."""
    return client.post(reverse("admin:jobs_job_run_now", args=[job.pk]), data or {})


def test_run_now_asks_for_the_parameters_first(
    client: Client, job_with_parameters: Job
) -> None:
    """The button shows a form with one box per parameter; nothing is queued."""
    response = run_now(client, job_with_parameters)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="jobs-run-parameters-form"' in html
    assert 'name="batch"' in html
    assert "Rows per batch" in html
    assert "(default: apac)</option>" in html
    assert not JobRun.objects.exists()


def test_run_now_shows_clear_messages_for_bad_values(
    client: Client, job_with_parameters: Job
) -> None:
    """Missing required value and a non-number: said next to their boxes."""
    response = run_now(client, job_with_parameters, {SUBMITTED: "1", "batch": ""})
    assert escape(MSG_REQUIRED) in response.content.decode()
    response = run_now(client, job_with_parameters, {SUBMITTED: "1", "batch": "ten"})
    assert escape(params.MSG_INTEGER.format(value="ten")) in response.content.decode()
    assert not JobRun.objects.exists()


def test_run_now_queues_the_run_with_typed_parameters(
    client: Client, job_with_parameters: Job
) -> None:
    """Valid values: queued, stored typed with defaults, back to the job."""
    response = run_now(
        client,
        job_with_parameters,
        {SUBMITTED: "1", "batch": "250", "dry_run": "true", "region": ""},
    )
    assert response.status_code == 302
    run = JobRun.objects.get()
    assert run.parameters == {"region": "apac", "batch": 250, "dry_run": True}
    assert run.trigger == JobRun.Trigger.MANUAL


def test_a_job_without_parameters_still_runs_at_once(
    client: Client, now: datetime
) -> None:
    """No form in between when there is nothing to ask."""
    job = make_job(now)
    assert run_now(client, job).status_code == 302
    assert JobRun.objects.get().parameters == {}


def test_a_change_form_post_keeps_parameters(client: Client, now: datetime) -> None:
    """Saving the job with its existing rows leaves them as they are."""
    job = make_job(now)
    parameter = JobParameter.objects.create(job=job, name="region", default="apac")
    data = change_form_data(
        job,
        **{
            "parameters-TOTAL_FORMS": "1",
            "parameters-INITIAL_FORMS": "1",
            "parameters-0-id": str(parameter.pk),
            "parameters-0-job": str(job.pk),
            "parameters-0-name": "region",
            "parameters-0-type": "string",
            "parameters-0-default": "emea",
            "parameters-0-choices": "[]",
            "parameters-0-position": "0",
        },
    )
    response = client.post(reverse("admin:jobs_job_change", args=[job.pk]), data)
    assert response.status_code == 302
    # The rows are saved through job_save, which replaces them from the form.
    [saved] = JobParameter.objects.filter(job=job)
    assert (saved.name, saved.default) == ("region", "emea")


def test_an_editor_edits_the_parameters_of_a_job_they_own(
    client: Client, now: datetime
) -> None:
    """The parameter rows follow the job's rights, like its schedules."""
    roles_sync(now=now)
    editor = make_user("eddie")
    editor.groups.add(Group.objects.get(name=EDITOR))
    job = make_job(now, owner=editor)
    editor_client = Client()
    editor_client.force_login(editor)
    data = change_form_data(job, **parameter_rows({"name": "region"}))
    data["owner"] = str(editor.pk)
    response = editor_client.post(reverse("admin:jobs_job_change", args=[job.pk]), data)
    assert response.status_code == 302
    assert list(job.parameters.values_list("name", flat=True)) == ["region"]


def test_an_editor_cannot_give_a_secret_to_their_job(
    client: Client, now: datetime
) -> None:
    """Choosing secrets takes the right to manage secrets: the field is read-only."""
    roles_sync(now=now)
    secret = make_secret("API_TOKEN", VALUE, now=now)
    editor = make_user("eddie")
    editor.groups.add(Group.objects.get(name=EDITOR))
    job = make_job(now, owner=editor)
    editor_client = Client()
    editor_client.force_login(editor)
    data = change_form_data(job, secrets=[str(secret.pk)])
    data["owner"] = str(editor.pk)
    response = editor_client.post(reverse("admin:jobs_job_change", args=[job.pk]), data)
    assert response.status_code == 302
    assert list(job.secrets.all()) == []


def test_the_service_refuses_secrets_chosen_by_someone_without_the_right(
    scripts_dir: Path, now: datetime
) -> None:
    """The same rule holds outside the admin (API, future callers)."""
    from django.core.exceptions import ValidationError

    from jobs.services.jobs import MSG_SECRETS_PERMISSION

    secret = make_secret("API_TOKEN", VALUE, now=now)
    editor = make_user("eddie")
    job = make_job(now, owner=editor)
    with pytest.raises(ValidationError) as caught:
        job_save(job=job, schedules=None, now=now, actor=editor, secrets=[secret])
    assert caught.value.message_dict["secrets"] == [MSG_SECRETS_PERMISSION]
    assert list(job.secrets.all()) == []
