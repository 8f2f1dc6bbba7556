"""The permission matrix through the real admin, and per-object action gating.

Each role (Admin, Editor, Viewer), as owner of the job and not, against each
admin action: view, add, change, delete, run now, activate (the list
action), approve (a script's review). Every attempt is a real request; the
outcome is read back from the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts.roles import ADMIN, EDITOR, VIEWER
from jobs.admin.access import MSG_REFUSED
from jobs.admin.jobs import MSG_DEACTIVATED, MSG_RUNS_QUEUED
from jobs.models import Job, JobRun, Script
from jobs.services.grants import job_rights_set
from jobs.services.scripts import script_sync_path
from jobs.tests.factories import JobFactory
from jobs.tests.test_admin_jobs import change_form_data, job_form_data

# "now" is pinned to 2026-03-01 00:00 UTC for every test here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

CHANGELIST = "admin:jobs_job_changelist"
DAILY_9 = {"type": "daily", "time": "09:00"}

EVERYTHING = {"view", "add", "change", "delete", "run", "activate", "approve"}
# (role, owns the job) -> the actions that succeed; all others are refused.
MATRIX: dict[tuple[str, bool], set[str]] = {
    (ADMIN, True): EVERYTHING,
    (ADMIN, False): EVERYTHING,
    (EDITOR, True): {"view", "add", "change", "delete", "run", "activate"},
    (EDITOR, False): {"view", "add"},
    (VIEWER, True): {"view"},
    (VIEWER, False): {"view"},
}


def save_job(name: str, now: datetime, **fields: Any) -> Job:
    """Save a daily job through the service."""
    return JobFactory.create(
        name=name, timezone="Asia/Hong_Kong", schedules=[DAILY_9], now=now, **fields
    )


def form_data(job: Job | None, **overrides: str) -> dict[str, Any]:
    """Return the add (job None) or change form's POST data, one daily row."""
    if job is None:
        return job_form_data(**{"name": "brand-new", **overrides})
    return change_form_data(job, **overrides)


def post_action(client: Client, action: str, jobs: list[Job]) -> Any:
    """Run a changelist action on `jobs`, following the redirect."""
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [str(job.pk) for job in jobs]},
        follow=True,
    )


def messages_of(response: Any) -> list[str]:
    """Return the messages a followed response shows."""
    return [str(message) for message in response.context["messages"]]


# --- what each action attempt did ---------------------------------------------


def try_view(client: Client, job: Job) -> bool:
    """Open the job's change page."""
    response = client.get(reverse("admin:jobs_job_change", args=[job.pk]))
    return response.status_code == 200 and job.name in response.content.decode()


def try_add(client: Client, job: Job) -> bool:
    """Submit the add form."""
    client.post(reverse("admin:jobs_job_add"), form_data(None))
    return Job.objects.filter(name="brand-new").exists()


def try_change(client: Client, job: Job) -> bool:
    """Submit the change form with a new description."""
    url = reverse("admin:jobs_job_change", args=[job.pk])
    client.post(url, form_data(job, description="changed"))
    return Job.objects.get(pk=job.pk).description == "changed"


def try_delete(client: Client, job: Job) -> bool:
    """Confirm the job's deletion."""
    client.post(reverse("admin:jobs_job_delete", args=[job.pk]), {"post": "yes"})
    return not Job.objects.filter(pk=job.pk).exists()


def try_run(client: Client, job: Job) -> bool:
    """Press "Run now" on the job's page."""
    client.post(reverse("admin:jobs_job_run_now", args=[job.pk]))
    return JobRun.objects.filter(job=job).exists()


def try_activate(client: Client, job: Job) -> bool:
    """Deactivate the (active) job with the list action."""
    post_action(client, "deactivate", [job])
    return Job.objects.get(pk=job.pk).is_active is False


def try_approve(client: Client, job: Job) -> bool:
    """Approve the job's script from the script's page."""
    script = Script.objects.get(path=job.script)
    client.post(
        reverse("admin:jobs_script_review", args=[script.pk]),
        {"decision": "approve", "note": "", "sha256": script.sha256},
    )
    script.refresh_from_db()
    return script.status == Script.Status.APPROVED


ATTEMPTS: dict[str, Callable[[Client, Job], bool]] = {
    "view": try_view,
    "add": try_add,
    "change": try_change,
    "delete": try_delete,
    "run": try_run,
    "activate": try_activate,
    "approve": try_approve,
}


@pytest.mark.parametrize(("role", "is_owner"), list(MATRIX))
@pytest.mark.parametrize("action", list(ATTEMPTS))
def test_permission_matrix(
    client: Client,
    make_user: Callable[..., User],
    scripts_dir: Path,
    now: datetime,
    role: str,
    is_owner: bool,
    action: str,
) -> None:
    """Each role, owner or not, can do exactly what the matrix says."""
    user = make_user("someone", role)
    other = make_user("other", EDITOR)
    job = save_job("nightly", now, owner=user if is_owner else other)
    script_sync_path(path=job.script, now=now)
    client.force_login(user)
    assert ATTEMPTS[action](client, job) is (action in MATRIX[(role, is_owner)])


# --- mixed selections and per-object display ------------------------------------


@pytest.fixture
def editor_jobs(
    make_user: Callable[..., User], scripts_dir: Path, now: datetime, client: Client
) -> tuple[Job, Job]:
    """Sign in an Editor; return a job they own and one they do not."""
    editor = make_user("eddie", EDITOR)
    client.force_login(editor)
    return save_job("mine", now, owner=editor), save_job("theirs", now)


def test_an_action_on_a_mixed_selection_does_the_allowed_and_names_the_rest(
    client: Client, editor_jobs: tuple[Job, Job]
) -> None:
    """Deactivate: the own job is deactivated, the other named as refused."""
    mine, theirs = editor_jobs
    response = post_action(client, "deactivate", [mine, theirs])
    assert messages_of(response) == [
        MSG_REFUSED.format(verb="change", names="theirs"),
        MSG_DEACTIVATED.format(jobs="1 job"),
    ]
    assert Job.objects.get(pk=mine.pk).is_active is False
    assert Job.objects.get(pk=theirs.pk).is_active is True


def test_run_now_on_a_mixed_selection_runs_only_the_allowed(
    client: Client, editor_jobs: tuple[Job, Job]
) -> None:
    """Run now: one run for the own job, none for the other."""
    mine, theirs = editor_jobs
    response = post_action(client, "run_now", [theirs, mine])
    assert messages_of(response) == [
        MSG_REFUSED.format(verb="run", names="theirs"),
        MSG_RUNS_QUEUED.format(jobs="1 job"),
    ]
    assert list(JobRun.objects.values_list("job__name", flat=True)) == ["mine"]


def test_a_grant_to_run_allows_running_but_not_changing(
    client: Client,
    make_user: Callable[..., User],
    scripts_dir: Path,
    now: datetime,
) -> None:
    """A user without a role sees and runs only the job granted to them."""
    admin = make_user("root", ADMIN)
    operator = make_user("operator")
    granted, secret = save_job("granted-job", now), save_job("not-yours", now)
    job_rights_set(
        job=granted, grantee=operator, rights=["run_job"], actor=admin, now=now
    )
    client.force_login(operator)
    listing = client.get(reverse(CHANGELIST)).content.decode()
    assert "granted-job" in listing
    assert "not-yours" not in listing
    assert try_run(client, granted) is True
    assert try_change(client, granted) is False
    assert try_view(client, secret) is False
    assert try_run(client, secret) is False


def test_run_now_button_shows_only_to_those_who_may_run(
    client: Client, editor_jobs: tuple[Job, Job]
) -> None:
    """The change page offers "Run now" on the own job, not on another's."""
    mine, theirs = editor_jobs
    run_url = reverse("admin:jobs_job_run_now", args=[mine.pk])
    other_url = reverse("admin:jobs_job_run_now", args=[theirs.pk])
    own_page = client.get(reverse("admin:jobs_job_change", args=[mine.pk]))
    other_page = client.get(reverse("admin:jobs_job_change", args=[theirs.pk]))
    assert f'action="{run_url}"' in own_page.content.decode()
    assert f'action="{other_url}"' not in other_page.content.decode()


def test_an_editors_new_job_is_owned_by_the_editor(
    client: Client, make_user: Callable[..., User], scripts_dir: Path
) -> None:
    """The owner box is read-only for Editors; the creator becomes owner."""
    editor = make_user("eddie", EDITOR)
    other = make_user("other", EDITOR)
    client.force_login(editor)
    client.post(reverse("admin:jobs_job_add"), form_data(None, owner=str(other.pk)))
    assert Job.objects.get(name="brand-new").owner == editor


def test_an_editor_cannot_hand_a_job_to_someone_else(
    client: Client, editor_jobs: tuple[Job, Job], make_user: Callable[..., User]
) -> None:
    """Changing the owner needs the right to grant: the box is ignored."""
    mine, _ = editor_jobs
    other = make_user("other", EDITOR)
    url = reverse("admin:jobs_job_change", args=[mine.pk])
    client.post(url, form_data(mine, description="x", owner=str(other.pk)))
    mine.refresh_from_db()
    assert mine.owner is not None
    assert (mine.description, mine.owner.username) == ("x", "eddie")


def test_an_owner_edits_the_rows_of_their_job(
    client: Client, editor_jobs: tuple[Job, Job]
) -> None:
    """Schedules and run parameters follow the job's rights, not model rights."""
    mine, _ = editor_jobs
    data = form_data(
        mine,
        **{
            "schedules-0-time": "10:00",
            "parameters-TOTAL_FORMS": "1",
            "parameters-0-name": "DAY",
            "parameters-0-type": "string",
            "parameters-0-default": "",
            "parameters-0-choices": "[]",
            "parameters-0-description": "",
            "parameters-0-position": "0",
        },
    )
    response = client.post(reverse("admin:jobs_job_change", args=[mine.pk]), data)
    assert response.status_code == 302
    assert mine.schedule_documents() == [{"type": "daily", "time": "10:00"}]
    assert list(mine.parameters.values_list("name", flat=True)) == ["DAY"]


def test_the_runs_of_invisible_jobs_are_not_listed(
    client: Client,
    make_user: Callable[..., User],
    scripts_dir: Path,
    now: datetime,
) -> None:
    """A user granted one job sees its runs only; cancelling needs "run"."""
    admin = make_user("root", ADMIN)
    viewer_of_one = make_user("one")
    seen, unseen = save_job("seen-job", now), save_job("unseen-job", now)
    for job in (seen, unseen):
        JobRun.objects.create(
            job=job, scheduled_for=now, trigger="manual", queued_at=now, not_before=now
        )
    job_rights_set(
        job=seen, grantee=viewer_of_one, rights=["view_job"], actor=admin, now=now
    )
    client.force_login(viewer_of_one)
    page = client.get(reverse("admin:jobs_jobrun_changelist")).content.decode()
    assert "seen-job" in page
    assert "unseen-job" not in page
    assert "cancel_runs" not in page
