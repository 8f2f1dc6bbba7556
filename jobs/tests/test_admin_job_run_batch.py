"""The job list's "Run selected jobs now": one batch, one transaction, one event."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.models import AuditEvent
from accounts.roles import EDITOR
from jobs.admin.access import MSG_REFUSED
from jobs.admin.jobs import MSG_RUNS_NOT_QUEUED, MSG_RUNS_QUEUED
from jobs.models import Job, JobRun, Script
from jobs.selectors import ScriptBlock, job_script_block, script_blocks
from jobs.services import batch_runs
from jobs.services.approval import MSG_BLOCK_NEVER_APPROVED
from jobs.services.batch_runs import BATCH_TARGET_TYPE
from jobs.services.runs import MSG_NOT_RUNNABLE
from jobs.services.scripts import script_sync_path
from jobs.tests.factories import JobFactory
from jobs.tests.security_helpers import approved_script

# "now" is pinned to 2026-03-01 00:00 UTC for every test here.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("frozen_clock", "scripts_dir"),
]

CHANGELIST = "admin:jobs_job_changelist"
IP = "192.0.2.9"


def post_action(client: Client, jobs: Iterable[Job]) -> Any:
    """Run "Run selected jobs now" on `jobs`, following the redirect."""
    return client.post(
        reverse(CHANGELIST),
        {"action": "run_now", "_selected_action": [str(job.pk) for job in jobs]},
        follow=True,
        REMOTE_ADDR=IP,
    )


def messages_of(response: Any) -> list[str]:
    """Return the messages a followed response shows."""
    return [str(message) for message in response.context["messages"]]


def run_events() -> list[AuditEvent]:
    """Return the audited runs."""
    return list(AuditEvent.objects.filter(action=AuditEvent.Action.RUN))


def test_n_jobs_give_n_manual_runs_and_one_audit_event(
    admin_client: Client, admin_user: User, now: datetime
) -> None:
    """Five jobs: five queued manual runs by the user, one "run" event."""
    jobs = JobFactory.create_batch(5)

    response = post_action(admin_client, jobs)

    assert messages_of(response) == [MSG_RUNS_QUEUED.format(jobs="5 jobs")]
    runs = list(JobRun.objects.order_by("job_id"))
    assert [run.job for run in runs] == sorted(jobs, key=lambda job: job.pk)
    assert {(r.status, r.trigger, r.triggered_by, r.scheduled_for) for r in runs} == {
        (JobRun.Status.QUEUED, JobRun.Trigger.MANUAL, admin_user, now)
    }
    [event] = run_events()
    assert (event.actor, event.ip, event.target_type) == (
        admin_user,
        IP,
        BATCH_TARGET_TYPE,
    )
    assert event.changes == {
        "runs": [None, sorted(run.pk for run in runs)],
        "jobs": [None, sorted(job.pk for job in jobs)],
    }


@pytest.mark.usefixtures("require_approval")
def test_a_blocked_job_is_reported_and_the_others_queued_in_one_batch(
    admin_client: Client, admin_user: User, now: datetime
) -> None:
    """The refusal names the job, the reason and the review link."""
    script = script_sync_path(path="ok.py", now=now)
    approved_script("fail.py", by=admin_user, now=now)
    blocked = JobFactory.create(name="blocked", script="ok.py")
    runnable = JobFactory.create_batch(2, script="fail.py")

    response = post_action(admin_client, [blocked, *runnable])

    reason = MSG_BLOCK_NEVER_APPROVED.format(path="ok.py")
    review = reverse("admin:jobs_script_change", args=[script.pk])
    assert messages_of(response) == [
        f"blocked: {escape(MSG_NOT_RUNNABLE.format(reason=reason))} "
        f'(<a href="{review}">review the script</a>)',
        MSG_RUNS_QUEUED.format(jobs="2 jobs"),
    ]
    assert set(JobRun.objects.values_list("job_id", flat=True)) == {
        job.pk for job in runnable
    }
    assert len(run_events()) == 1


def test_a_job_the_user_may_not_run_is_refused_as_before(
    client: Client, make_user: Callable[..., User], now: datetime
) -> None:
    """An Editor's own jobs run as one batch; the other is named as refused."""
    editor = make_user("eddie", EDITOR)
    client.force_login(editor)
    mine = JobFactory.create_batch(2, owner=editor)
    theirs = JobFactory.create(name="theirs")

    response = post_action(client, [theirs, *mine])

    assert messages_of(response) == [
        MSG_REFUSED.format(verb="run", names="theirs"),
        MSG_RUNS_QUEUED.format(jobs="2 jobs"),
    ]
    assert JobRun.objects.filter(job=theirs).exists() is False
    assert JobRun.objects.count() == 2
    assert len(run_events()) == 1


@pytest.mark.usefixtures("require_approval")
def test_a_script_blocked_while_queueing_queues_nothing_and_says_why(
    admin_client: Client,
    admin_user: User,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another admin rejects a script between the check and the write."""
    approved_script("fail.py", by=admin_user, now=now)
    approved_script("ok.py", by=admin_user, now=now)
    jobs = [
        JobFactory.create(name="a", script="fail.py"),
        JobFactory.create(name="b", script="ok.py"),
    ]
    checks: list[dict[str, ScriptBlock]] = []

    def reject_after_the_first_check(*, paths: Iterable[str]) -> dict[str, ScriptBlock]:
        checks.append(script_blocks(paths=paths))
        Script.objects.filter(path="ok.py").update(status=Script.Status.REJECTED)
        return checks[-1]

    monkeypatch.setattr(batch_runs, "script_blocks", reject_after_the_first_check)

    response = post_action(admin_client, jobs)

    block = job_script_block(job=jobs[1])
    assert block is not None
    assert [list(check) for check in checks] == [[], ["ok.py"]]
    assert messages_of(response) == [
        MSG_RUNS_NOT_QUEUED.format(error=MSG_NOT_RUNNABLE.format(reason=block.reason))
    ]
    assert JobRun.objects.exists() is False
    assert run_events() == []
