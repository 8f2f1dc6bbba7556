"""The job page's history (versions, diff, restore) and permissions sections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.models import AuditEvent
from accounts.roles import ADMIN, EDITOR, VIEWER
from jobs.admin.grants import MSG_ONE_GRANTEE, MSG_RIGHTS_SET
from jobs.admin.versions import MSG_RESTORE_FAILED
from jobs.models import Job, Secret
from jobs.presentation import MSG_RESTORED
from jobs.selectors import job_grants
from jobs.services.jobs import job_save
from jobs.services.secrets import secret_delete, secret_save
from jobs.services.versions import MSG_SECRETS_GONE
from jobs.tests.factories import JobFactory

# "now" is pinned to 2026-03-01 00:00 UTC for every test here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

DAILY_9 = {"type": "daily", "time": "09:00"}
CLIENT_IP = "203.0.113.77"


@pytest.fixture
def editor(make_user: Callable[..., User], client: Client) -> User:
    """Sign in an Editor."""
    user = make_user("eddie", EDITOR)
    client.force_login(user)
    return user


@pytest.fixture
def job(scripts_dir: Path, editor: User, now: datetime) -> Job:
    """Return the Editor's job with three versions: 09:00, 10:00, 11:00."""
    return JobFactory.with_versions(name="nightly", now=now, actor=editor)


def page(client: Client, name: str, *args: Any, **query: Any) -> str:
    """GET an admin page and return its text (status 200 required)."""
    response = client.get(reverse(f"admin:{name}", args=args), query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_change_page_lists_the_latest_versions(client: Client, job: Job) -> None:
    """The History section links to each version and the full history."""
    text = page(client, "jobs_job_change", job.pk)
    for number in (1, 2, 3):
        assert reverse("admin:jobs_job_version", args=[job.pk, number]) in text
    assert reverse("admin:jobs_job_versions", args=[job.pk]) in text


def test_a_version_shows_its_diff_against_the_one_before(
    client: Client, job: Job
) -> None:
    """Version 3's page shows the line that changed since version 2."""
    text = page(client, "jobs_job_version", job.pk, 3)
    assert escape("schedules[0].time: '10:00' → '11:00'") in text


def test_restore_is_offered_on_older_versions_only(client: Client, job: Job) -> None:
    """The current version says so instead of offering to restore itself."""
    current = page(client, "jobs_job_version", job.pk, 3)
    older = page(client, "jobs_job_version", job.pk, 2)
    assert "This is the current version." in current
    assert "Restore this version" not in current
    assert "Restore this version" in older
    assert "This is the current version." not in older


def test_any_two_versions_can_be_compared(client: Client, job: Job) -> None:
    """The compare form redirects to version "to" against version "from"."""
    response = client.get(
        reverse("admin:jobs_job_version_compare", args=[job.pk]),
        {"from": "1", "to": "3"},
        follow=True,
    )
    text = response.content.decode()
    assert "Changes from version 1 to version 3" in text
    assert escape("schedules[0].time: '09:00' → '11:00'") in text


def test_restore_is_a_post_with_csrf(job: Job, editor: User) -> None:
    """Without the page's CSRF token the restore is refused."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    url = reverse("admin:jobs_job_version_restore", args=[job.pk, 1])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403
    assert job.versions.count() == 3


def test_restoring_a_version_saves_it_as_new_and_audits_it(
    client: Client, job: Job, editor: User
) -> None:
    """The restore button brings back version 1 as version 4, audited."""
    url = reverse("admin:jobs_job_version_restore", args=[job.pk, 1])
    response = client.post(url, REMOTE_ADDR=CLIENT_IP, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [MSG_RESTORED.format(old=1, job="nightly", new=4)]
    job.refresh_from_db()
    assert job.schedule_documents() == [DAILY_9]
    latest = job.versions.first()
    assert latest is not None
    assert (latest.number, latest.author) == (4, editor)
    event = AuditEvent.objects.get(action="restore")
    assert (event.actor, event.ip) == (editor, CLIENT_IP)
    assert event.changes == {"schedules[0].time": ["11:00", "09:00"]}


def test_a_failed_restore_says_why(
    client: Client, job: Job, editor: User, now: datetime
) -> None:
    """A version naming a deleted secret is refused with the reason."""
    secret = secret_save(secret=Secret(name="GONE"), value="x", now=now)
    job_save(job=Job.objects.get(pk=job.pk), schedules=None, now=now, secrets=[secret])
    job_save(job=Job.objects.get(pk=job.pk), schedules=None, now=now, secrets=[])
    secret_delete(secret=secret, now=now)
    url = reverse("admin:jobs_job_version_restore", args=[job.pk, 4])
    response = client.post(url, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        MSG_RESTORE_FAILED.format(old=4, errors=MSG_SECRETS_GONE.format(names="GONE"))
    ]


def test_viewers_see_the_history_but_cannot_restore(
    client: Client, job: Job, make_user: Callable[..., User]
) -> None:
    """No restore button, and a POST is refused."""
    client.force_login(make_user("vera", VIEWER))
    assert "Restore this version" not in page(client, "jobs_job_version", job.pk, 1)
    url = reverse("admin:jobs_job_version_restore", args=[job.pk, 1])
    assert client.post(url).status_code == 403
    assert job.versions.count() == 3


def _change_data(job: Job) -> dict[str, str]:
    """Return the job change form's POST data: one daily schedule, no parameters."""
    schedule = job.schedules.get()
    return {
        "name": "nightly",
        "description": "now with a note",
        "script": "ok.py",
        "args": "[]",
        "env": "{}",
        "working_dir": "",
        "timezone": job.timezone,
        "is_active": "on",
        "priority": "0",
        "retry_max_attempts": "1",
        "retry_delay_seconds": "60",
        "retry_backoff": "fixed",
        "retry_max_delay_seconds": "3600",
        "retry_exit_codes": "[]",
        "concurrency_policy": "forbid",
        "max_concurrent": "1",
        "misfire_policy": "run_once",
        "blackout_action": "skip",
        "misfire_grace_seconds": "60",
        "dependency_mode": "all_success",
        "change_note": "Ticket OPS-12",
        "schedules-TOTAL_FORMS": "1",
        "schedules-INITIAL_FORMS": "1",
        "schedules-MIN_NUM_FORMS": "1",
        "schedules-MAX_NUM_FORMS": "1000",
        "schedules-0-id": str(schedule.pk),
        "schedules-0-job": str(job.pk),
        "schedules-0-type": "daily",
        "schedules-0-time": "11:00",
        "parameters-TOTAL_FORMS": "0",
        "parameters-INITIAL_FORMS": "0",
        "parameters-MIN_NUM_FORMS": "0",
        "parameters-MAX_NUM_FORMS": "1000",
        # The dependency rows (none).
        "dependencies-TOTAL_FORMS": "0",
        "dependencies-INITIAL_FORMS": "0",
        "dependencies-MIN_NUM_FORMS": "0",
        "dependencies-MAX_NUM_FORMS": "1000",
    }


def test_the_change_note_is_stored_with_the_version(
    client: Client, job: Job, editor: User
) -> None:
    """The form's change note becomes the new version's note."""
    data = _change_data(job)
    response = client.post(reverse("admin:jobs_job_change", args=[job.pk]), data)
    assert response.status_code == 302
    latest = job.versions.first()
    assert latest is not None
    assert (latest.number, latest.note, latest.author) == (4, "Ticket OPS-12", editor)


def test_a_parameter_added_in_the_admin_is_in_the_new_version(
    client: Client, job: Job, editor: User
) -> None:
    """The parameters inline saves through job_save: the version holds it."""
    client.force_login(editor)
    data = _change_data(job)
    data.update(
        {
            "parameters-TOTAL_FORMS": "1",
            "parameters-0-job": str(job.pk),
            "parameters-0-name": "region",
            "parameters-0-type": "choice",
            "parameters-0-is_required": "on",
            "parameters-0-default": "apac",
            "parameters-0-choices": '["apac", "emea"]',
            "parameters-0-description": "",
            "parameters-0-position": "0",
        }
    )
    response = client.post(reverse("admin:jobs_job_change", args=[job.pk]), data)
    assert response.status_code == 302
    latest = job.versions.first()
    assert latest is not None
    assert latest.snapshot["parameters"] == [
        {
            "name": "region",
            "type": "choice",
            "required": True,
            "default": "apac",
            "choices": ["apac", "emea"],
            "description": "",
        }
    ]
    assert [p.name for p in job.parameters.all()] == ["region"]


# --- permissions section --------------------------------------------------------


def test_the_permissions_section_is_for_admins_only(
    client: Client, job: Job, make_user: Callable[..., User]
) -> None:
    """Editors see no section and get 403 on the page; Admins see both."""
    url = reverse("admin:jobs_job_permissions", args=[job.pk])
    assert url not in page(client, "jobs_job_change", job.pk)
    assert client.get(url).status_code == 403
    client.force_login(make_user("root", ADMIN))
    assert url in page(client, "jobs_job_change", job.pk)
    assert "Owner: eddie" in page(client, "jobs_job_permissions", job.pk)


def test_an_admin_grants_and_revokes_rights_on_the_page(
    client: Client, job: Job, make_user: Callable[..., User]
) -> None:
    """Granting change and run to a group, then revoking, is audited."""
    root = make_user("root", ADMIN)
    operators = Group.objects.create(name="Operators")
    client.force_login(root)
    url = reverse("admin:jobs_job_permissions", args=[job.pk])
    response = client.post(
        url,
        {"group": operators.pk, "rights": ["change_job", "run_job"]},
        REMOTE_ADDR=CLIENT_IP,
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        MSG_RIGHTS_SET.format(grantee="Group Operators", rights="change, run")
    ]
    [grant] = job_grants(job)
    assert (grant.grantee, grant.rights) == (operators, ("change_job", "run_job"))
    client.post(url, {"group": operators.pk})
    assert job_grants(job) == []
    actions = list(
        AuditEvent.objects.filter(target_id=str(job.pk), action__in=["grant", "revoke"])
        .order_by("pk")
        .values_list("action", "actor_repr", "ip")
    )
    assert actions == [("grant", "root", CLIENT_IP), ("revoke", "root", "127.0.0.1")]


def test_the_grant_form_wants_exactly_one_grantee(
    client: Client, job: Job, make_user: Callable[..., User]
) -> None:
    """Neither a user nor a group: the form says so and nothing changes."""
    client.force_login(make_user("root", ADMIN))
    url = reverse("admin:jobs_job_permissions", args=[job.pk])
    response = client.post(url, {"rights": ["run_job"]})
    assert response.status_code == 200
    assert MSG_ONE_GRANTEE in response.content.decode()
    assert job_grants(job) == []
