"""The whole API against its own OpenAPI schema (schemathesis).

Every operation in /api/schema/ is called with generated requests, valid
and not, signed in as an Admin through an API key, on a database seeded
with a job, its runs, a script and versions. Whatever the client sends,
the answer is never a 500, its status code is one the schema documents,
and its body matches the schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.roles import ADMIN
from accounts.tests.keys import create_key
from jobs.models import Job, JobRun
from jobs.services.jobs import job_save
from jobs.services.runs import job_run_now
from jobs.services.scripts import scripts_sync
from jobs.services.workers import worker_register

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(db: None, settings: Any) -> Iterator[Any]:
    """Return the schema served by the app itself, loaded in-process.

    Requests go straight to Django's WSGI handler, which would close the
    test's database connection after each one, as Django's test client
    prevents too.
    """
    # Generated requests come by the thousand; the limits are tested apart.
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {key: "100000/minute" for key in rates},
    }
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(
    scripts_dir: Path, make_user: Any, now: Any, settings: Any
) -> dict[str, str]:
    """Seed a job with runs, a script and two versions; return auth headers."""
    admin: User = make_user("root", ADMIN)
    scripts_sync(now=timezone.now())
    job = job_save(
        job=Job(name="nightly", script="ok.py", owner=admin),
        schedules=[{"type": "daily", "time": "09:00"}],
        now=timezone.now(),
        actor=admin,
    )
    job.description = "second version"
    job_save(job=job, schedules=None, now=timezone.now(), actor=admin)
    run = job_run_now(job=job, requested_by=admin, now=timezone.now())
    JobRun.objects.filter(pk=run.pk).update(
        status=JobRun.Status.SUCCEEDED,
        started_at=run.queued_at,
        finished_at=run.queued_at + timedelta(seconds=2),
        exit_code=0,
        output="ok\n",
    )
    job_run_now(job=job, requested_by=admin, now=timezone.now() + timedelta(seconds=1))
    # A live worker, so that /api/health answers 200 (503 is a 5xx).
    worker_register(name="seed-worker", host="localhost", pid=1, now=timezone.now())
    _, key = create_key(admin)
    return {"X-API-Key": key}


def test_no_request_gets_a_500_or_an_undocumented_answer(
    api_schema: Any, seeded: dict[str, str]
) -> None:
    """Generated requests, valid and invalid: documented answers only."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=seeded, checks=CHECKS)

        check()
