"""The job page's pipeline graph and "Run pipeline from here"."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from jobs.models import Job, JobDependency, JobRun
from jobs.tests.factories import JobFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

MANUAL = [{"type": "manual"}]


@pytest.fixture
def chain(scripts_dir: Path, now: datetime) -> list[Job]:
    jobs = [
        JobFactory.create(name=name, schedules=MANUAL, now=now)
        for name in ("extract", "transform", "load")
    ]
    for up, down in itertools.pairwise(jobs):
        JobDependency.objects.create(job=down, depends_on=up)
    return jobs


def test_the_job_page_draws_its_pipeline(
    chain: list[Job], admin_client: Client, admin_user: User
) -> None:
    response = admin_client.get(reverse("admin:jobs_job_change", args=[chain[1].pk]))
    page = response.content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="jobs-pipeline"' in page
    assert page.count('class="jobs-pipeline-node"') == 3
    assert "Run pipeline from here" in page


def test_a_job_without_dependencies_has_no_pipeline(
    scripts_dir: Path, now: datetime, admin_client: Client, admin_user: User
) -> None:
    job = JobFactory.create(name="alone", schedules=MANUAL, now=now)
    response = admin_client.get(reverse("admin:jobs_job_change", args=[job.pk]))
    assert "jobs-pipeline" not in response.content.decode()


def test_run_pipeline_queues_the_job(
    chain: list[Job], admin_client: Client, admin_user: User
) -> None:
    url = reverse("admin:jobs_job_run_pipeline", args=[chain[0].pk])
    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url)
    assert response.status_code == 302
    run = JobRun.objects.get(job=chain[0])
    assert (run.trigger, run.triggered_by) == (JobRun.Trigger.MANUAL, admin_user)
