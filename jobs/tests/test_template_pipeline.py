"""End to end: an extract → transform → load pipeline built from the library.

Three jobs made through the API from the shipped templates (API data fetch,
report generation into SQLite, database backup), each run by a real worker
loop as real subprocesses, the fetch reading from a local HTTP server.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_httpserver import HTTPServer
from rest_framework.test import APIClient

from accounts.roles import EDITOR
from jobs.models import Job, JobRun, JobTemplate
from jobs.tests.template_helpers import library_scripts, template_library
from jobs.worker import WorkerLoop

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("template_library")]
__all__ = ["library_scripts", "template_library"]

SALES = [{"region": "apac", "amount": 120}, {"region": "emea", "amount": 80}]


def instantiate(client: APIClient, template: str, name: str, **values: Any) -> Job:
    """Make a job from the library template `template` through the API."""
    pk = JobTemplate.objects.get(name=template).pk
    answer = client.post(
        f"/api/templates/{pk}/instantiate",
        {"name": name, "values": values},
        format="json",
    )
    assert answer.status_code == 201, answer.data
    return Job.objects.get(pk=answer.data["id"])


def run_step(client: APIClient, loop: WorkerLoop, job: Job) -> JobRun:
    """Queue a run through the API and let the worker execute it."""
    answer = client.post(f"/api/jobs/{job.pk}/run", {}, format="json")
    assert answer.status_code == 202, answer.data
    (run,) = loop.claim_runs(1)
    loop.execute_run(run)
    run.refresh_from_db()
    return run


@pytest.mark.usefixtures("library_scripts", "frozen_clock")
def test_extract_transform_load_from_templates(
    api_client: APIClient,
    make_user: Callable[..., User],
    loop: WorkerLoop,
    httpserver: HTTPServer,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    """Each step succeeds and hands its file to the next; the backup holds the data."""
    httpserver.expect_request("/sales").respond_with_json(SALES)
    api_client.force_authenticate(make_user("ed", EDITOR))
    raw, warehouse, backups = (
        tmp_path / "raw.json",
        tmp_path / "warehouse.sqlite3",
        tmp_path / "backups",
    )
    steps = [
        instantiate(
            api_client,
            "API data fetch",
            "extract",
            url=httpserver.url_for("/sales"),
            output=str(raw),
        ),
        instantiate(
            api_client,
            "Report generation",
            "transform",
            input=str(raw),
            output=str(warehouse),
        ),
        instantiate(
            api_client,
            "Database backup",
            "load",
            database=str(warehouse),
            destination=str(backups),
            keep="3",
        ),
    ]
    runs = [run_step(api_client, loop, job) for job in steps]
    assert [(r.status, r.exit_code) for r in runs] == [(JobRun.Status.SUCCEEDED, 0)] * 3
    (backup,) = backups.iterdir()
    with sqlite3.connect(backup) as db:
        totals = db.execute("SELECT field, total FROM totals").fetchall()
    assert totals == [("amount", 200.0)]
    assert [job.template_version.number for job in steps if job.template_version] == [
        1,
        1,
        1,
    ]
