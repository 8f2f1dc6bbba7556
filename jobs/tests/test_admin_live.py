"""The live views a running run's pages poll: same rights as the pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from jobportal.tests.clocks import FrozenClock
from jobs.models import JobRun
from jobs.tests.factories import JobFactory
from jobs.tests.run_records import make_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripts_dir")]


def test_a_running_run_answers_status_output_and_elapsed_time(
    admin_client: Client, frozen_clock: FrozenClock, now: datetime
) -> None:
    """Elapsed time counts from the start to the server's now."""
    job = JobFactory.create()
    run = make_run(
        job,
        status=JobRun.Status.RUNNING,
        started_at=now - timedelta(seconds=12),
        finished_at=None,
        exit_code=None,
        output="step 1/3 done\n",
    )
    body = admin_client.get(reverse("admin:jobs_jobrun_live", args=[run.pk])).json()
    assert body["status"] == "running"
    assert body["status_label"] == "Running"
    assert body["is_finished"] is False
    assert body["output"] == "step 1/3 done\n"
    assert body["elapsed_seconds"] == 12.0
    assert body["now"] == now.isoformat()


def test_a_finished_run_says_so_with_its_duration(admin_client: Client) -> None:
    """A succeeded run: finished, elapsed is its duration."""
    run = make_run(JobFactory.create())
    body = admin_client.get(reverse("admin:jobs_jobrun_live", args=[run.pk])).json()
    assert body["is_finished"] is True
    assert body["elapsed_seconds"] == run.duration_seconds


def test_the_jobs_recent_runs_answer_without_output(admin_client: Client) -> None:
    """Newest first, each with its page's URL; no output in the list."""
    job = JobFactory.create()
    run = make_run(job)
    body = admin_client.get(reverse("admin:jobs_job_recent_runs", args=[job.pk]))
    [row] = body.json()["runs"]
    assert row["id"] == run.pk
    assert row["url"] == reverse("admin:jobs_jobrun_change", args=[run.pk])
    assert "output" not in row


def test_someone_who_may_not_see_the_job_gets_nothing(
    client: Client, make_user: Callable[..., User]
) -> None:
    """A user without rights on the job: refused on both views."""
    job = JobFactory.create()
    run = make_run(job)
    client.force_login(make_user("nobody"))
    live = client.get(reverse("admin:jobs_jobrun_live", args=[run.pk]))
    recent = client.get(reverse("admin:jobs_job_recent_runs", args=[job.pk]))
    assert live.status_code in (302, 403, 404)
    assert recent.status_code in (302, 403, 404)
    assert b"output" not in live.content


def test_the_run_page_carries_the_live_config_while_running(
    admin_client: Client,
) -> None:
    """The page tells its script where to poll, and loads the script."""
    run = make_run(JobFactory.create(), status=JobRun.Status.QUEUED, finished_at=None)
    html = admin_client.get(
        reverse("admin:jobs_jobrun_change", args=[run.pk])
    ).content.decode()
    assert 'id="jobs-run-live"' in html
    assert reverse("admin:jobs_jobrun_live", args=[run.pk]) in html
    assert "jobs/live_runs.js" in html
