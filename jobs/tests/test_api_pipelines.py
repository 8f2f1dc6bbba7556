"""GET /api/jobs/{id}/graph and POST /api/jobs/{id}/run-pipeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.roles import ADMIN, VIEWER
from jobs.models import Job, JobDependency, JobRun
from jobs.policies import Outcome
from jobs.services.dependencies import dependency_events_process
from jobs.services.grants import job_rights_set
from jobs.services.runs import run_finish
from jobs.tests.factories import JobFactory, JobRunFactory, WorkerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

MANUAL = [{"type": "manual"}]


@pytest.fixture
def chain(scripts_dir: Any, now: datetime) -> dict[str, Job]:
    """extract → transform → load; extract last succeeded."""
    jobs = {
        name: JobFactory.create(name=name, schedules=MANUAL, now=now)
        for name in ("extract", "transform", "load", "elsewhere")
    }
    JobDependency.objects.create(job=jobs["transform"], depends_on=jobs["extract"])
    JobDependency.objects.create(
        job=jobs["load"], depends_on=jobs["transform"], window_hours=3
    )
    JobRunFactory.create(job=jobs["extract"], status=JobRun.Status.SUCCEEDED)
    return jobs


def client_as(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_graph_lists_upstream_and_downstream_with_statuses(
    chain: dict[str, Job], make_user: Callable[..., User]
) -> None:
    client = client_as(make_user("vic", VIEWER))
    response = client.get(f"/api/jobs/{chain['transform'].pk}/graph")
    assert response.status_code == 200
    body = response.json()
    assert [(n["name"], n["last_status"]) for n in body["nodes"]] == [
        ("transform", None),
        ("extract", "succeeded"),
        ("load", None),
    ]
    ids = {n["name"]: n["id"] for n in body["nodes"]}
    assert body["edges"] == [
        {
            "upstream": ids["extract"],
            "downstream": ids["transform"],
            "window_hours": None,
        },
        {"upstream": ids["transform"], "downstream": ids["load"], "window_hours": 3},
    ]


def test_the_graph_shows_only_jobs_the_user_may_see(
    chain: dict[str, Job], make_user: Callable[..., User], now: datetime
) -> None:
    user = make_user("gus")
    for name in ("transform", "load"):
        job_rights_set(
            job=chain[name], grantee=user, rights=["view_job"], actor=None, now=now
        )
    response = client_as(user).get(f"/api/jobs/{chain['transform'].pk}/graph")
    assert [n["name"] for n in response.json()["nodes"]] == ["transform", "load"]
    assert len(response.json()["edges"]) == 1
    hidden = client_as(user).get(f"/api/jobs/{chain['extract'].pk}/graph")
    assert hidden.status_code == 404


def test_run_pipeline_runs_the_job_and_its_downstream_follows(
    chain: dict[str, Job], make_user: Callable[..., User], frozen_clock: Any
) -> None:
    client = client_as(make_user("ada", ADMIN))
    response = client.post(f"/api/jobs/{chain['extract'].pk}/run-pipeline")
    assert response.status_code == 202
    run = JobRun.objects.get(pk=response.json()["id"])
    assert (run.job, run.trigger) == (chain["extract"], JobRun.Trigger.API)
    worker = WorkerFactory.create()
    JobRun.objects.filter(pk=run.pk).update(
        status=JobRun.Status.RUNNING, worker=worker, started_at=frozen_clock.advance(1)
    )
    run.refresh_from_db()
    run_finish(
        run=run,
        worker=worker,
        outcome=Outcome(status=JobRun.Status.SUCCEEDED, exit_code=0),
        now=frozen_clock.advance(1),
    )
    dependency_events_process(now=frozen_clock.advance(1))
    follow = JobRun.objects.get(job=chain["transform"])
    assert follow.trigger == JobRun.Trigger.DEPENDENCY


def test_run_pipeline_takes_the_right_to_run(
    chain: dict[str, Job], make_user: Callable[..., User]
) -> None:
    client = client_as(make_user("vic", VIEWER))
    response = client.post(f"/api/jobs/{chain['extract'].pk}/run-pipeline")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "You do not have permission to run this job's pipeline."
    }
