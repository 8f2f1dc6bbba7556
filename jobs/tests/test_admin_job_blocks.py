"""A job whose script may not run: the list's badge, the page's notice, "Run now"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from jobs.admin.jobs import MSG_RUNS_QUEUED
from jobs.models import Job, JobRun, Script
from jobs.services.approval import MSG_BLOCK_NEVER_APPROVED
from jobs.services.runs import MSG_NOT_RUNNABLE
from jobs.services.scripts import script_sync_path
from jobs.tests.factories import JobFactory
from jobs.tests.security_helpers import approved_script

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("frozen_clock", "scripts_dir", "require_approval"),
]


@pytest.fixture
def pending_job(now: datetime) -> Job:
    """Return a job whose script is registered but never approved."""
    script_sync_path(path="ok.py", now=now)
    return JobFactory.create(name="hello-hk", script="ok.py")


def review_url(path: str) -> str:
    """Return the script's review page."""
    script = Script.objects.get(path=path)
    return reverse("admin:jobs_script_change", args=[script.pk])


def test_list_shows_a_blocked_badge_linking_to_the_review_page(
    admin_client: Client, pending_job: Job, admin_user: User, now: datetime
) -> None:
    """The blocked job's row links to its script's review, the reason on hover."""
    runnable = JobFactory.create(name="runnable", script="fail.py")
    approved_script("fail.py", by=admin_user, now=now)
    response = admin_client.get(reverse("admin:jobs_job_changelist"))
    html = response.content.decode()
    reason = MSG_BLOCK_NEVER_APPROVED.format(path="ok.py")
    assert response.status_code == 200
    assert (
        f'<a href="{review_url("ok.py")}" class="jobs-blocked-link" '
        f'title="{escape(reason)}">'
    ) in html
    assert html.count("jobs-blocked-link") == 1
    assert runnable.name in html


def test_job_page_says_it_is_blocked_and_why(
    admin_client: Client, pending_job: Job
) -> None:
    """The change page names the reason and links to the review page."""
    url = reverse("admin:jobs_job_change", args=[pending_job.pk])
    html = admin_client.get(url).content.decode()
    assert 'class="jobs-blocked-banner"' in html
    assert escape(MSG_BLOCK_NEVER_APPROVED.format(path="ok.py")) in html
    assert f'<a href="{review_url("ok.py")}">review the script</a>' in html


def test_run_now_button_refuses_and_queues_nothing(
    admin_client: Client, pending_job: Job
) -> None:
    """ "Run now" says why instead of a green "Queued"."""
    url = reverse("admin:jobs_job_run_now", args=[pending_job.pk])
    response = admin_client.post(url, follow=True)
    reason = MSG_BLOCK_NEVER_APPROVED.format(path="ok.py")
    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith(
        f"hello-hk: {escape(MSG_NOT_RUNNABLE.format(reason=reason))} (<a href="
    )
    assert JobRun.objects.exists() is False


def test_run_now_action_queues_the_runnable_and_refuses_the_blocked(
    admin_client: Client, pending_job: Job, admin_user: User, now: datetime
) -> None:
    """The action reports each refusal and counts only what it queued."""
    approved_script("fail.py", by=admin_user, now=now)
    runnable = JobFactory.create(name="runnable", script="fail.py")
    data: dict[str, Any] = {
        "action": "run_now",
        "_selected_action": [pending_job.pk, runnable.pk],
    }
    response = admin_client.post(
        reverse("admin:jobs_job_changelist"), data, follow=True
    )
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 2
    assert messages[0].startswith("hello-hk: Not queued: ")
    assert messages[1] == MSG_RUNS_QUEUED.format(jobs="1 job")
    assert list(JobRun.objects.values_list("job__name", flat=True)) == ["runnable"]
