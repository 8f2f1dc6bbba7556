"""Dependencies in the job admin: the inline rows, checked like the API."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from jobs.admin.dependencies import MSG_INACTIVE_UPSTREAM
from jobs.models import Job, JobDependency, JobRun, JobVersion
from jobs.services.dependencies import dependency_events_process
from jobs.services.job_dependencies import MSG_CYCLE, MSG_SELF
from jobs.tests.conftest import FakeClock
from jobs.tests.factories import JobFactory
from jobs.tests.test_admin_jobs import change_form_data
from jobs.tests.test_services_dependencies import FAILED, finish

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

DAILY = {"type": "daily", "time": "09:00"}


@pytest.fixture
def client(scripts_dir: Path, admin_client: Client, admin_user: User) -> Client:
    return admin_client


def make(name: str, now: datetime, *upstreams: str, **fields: Any) -> Job:
    fields.setdefault("timezone", "Asia/Hong_Kong")
    fields.setdefault("schedules", [DAILY])
    job = JobFactory.create(name=name, now=now, **fields)
    for up in upstreams:
        JobDependency.objects.create(job=job, depends_on=Job.objects.get(name=up))
    return job


def rows(*upstreams: Job) -> dict[str, str]:
    data = {"dependencies-TOTAL_FORMS": str(len(upstreams))}
    for index, upstream in enumerate(upstreams):
        data[f"dependencies-{index}-depends_on"] = str(upstream.pk)
        data[f"dependencies-{index}-window_hours"] = ""
    return data


def change(client: Client, job: Job, *upstreams: Job) -> Any:
    url = reverse("admin:jobs_job_change", args=[job.pk])
    return client.post(url, change_form_data(job, **rows(*upstreams)))


def test_the_admin_saves_dependencies_with_a_version(
    client: Client, now: datetime
) -> None:
    a = make("A", now)
    b = make("B", now)
    response = change(client, b, a)
    assert response.status_code == 302
    assert list(b.dependencies.values_list("depends_on__name", flat=True)) == ["A"]
    latest = JobVersion.objects.filter(job=b).order_by("-number").first()
    assert latest is not None
    assert latest.snapshot["dependencies"] == [{"job": "A", "window_hours": None}]


def test_the_admin_refuses_a_cycle_naming_it(client: Client, now: datetime) -> None:
    a = make("A", now)
    make("B", now, "A")
    c = make("C", now, "B")
    response = change(client, a, c)
    assert response.status_code == 200
    assert MSG_CYCLE.format(cycle="A → B → C → A") in response.content.decode()
    assert not JobDependency.objects.filter(job=a).exists()


def test_the_admin_refuses_a_self_dependency(client: Client, now: datetime) -> None:
    a = make("A", now)
    response = change(client, a, a)
    assert response.status_code == 200
    assert MSG_SELF in response.content.decode()


def test_a_deactivated_upstream_is_allowed_and_shown(
    client: Client, now: datetime
) -> None:
    make("off", now, is_active=False)
    job = make("B", now, "off")
    response = client.get(reverse("admin:jobs_job_change", args=[job.pk]))
    assert MSG_INACTIVE_UPSTREAM in response.content.decode()


def test_a_skipped_run_names_and_links_its_upstream_run(
    client: Client, now: datetime, clock: FakeClock
) -> None:
    """Why did D not run? The skip's page gives the reason and the run."""
    a = make("A", now, schedules=[{"type": "manual"}])
    d = make("D", now, "A")
    failed = finish(a, FAILED, clock)
    dependency_events_process(now=clock.advance(1))
    skip = JobRun.objects.get(job=d)
    response = client.get(reverse("admin:jobs_jobrun_change", args=[skip.pk]))
    page = response.content.decode()
    assert f"Upstream run {failed.pk} of job &quot;A&quot; ended failed" in page
    link = reverse("admin:jobs_jobrun_change", args=[failed.pk])
    assert f'<a href="{link}">#{failed.pk} A (failed)</a>' in page
