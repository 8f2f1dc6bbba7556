"""POST /api/runs: many runs in one transaction, one audit event, all or none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.roles import ADMIN, EDITOR, VIEWER
from jobs.api.access import MSG_FORBIDDEN
from jobs.api.views.batch_runs import ACTION_RUN_ITEM, MSG_NO_JOB
from jobs.models import Job, JobRun
from jobs.selectors import job_script_block
from jobs.services.batch_runs import BATCH_TARGET_TYPE
from jobs.services.jobs import job_save
from jobs.services.runs import MSG_NOT_RUNNABLE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

URL = "/api/runs"
LIMIT = {"name": "limit", "type": "integer", "required": True}


def make_job(name: str, now: datetime, **fields: Any) -> Job:
    """Save a manual job with a required integer parameter "limit"."""
    job = Job(name=name, script="ok.py", **fields)
    return job_save(
        job=job, schedules=[{"type": "manual"}], parameters=[LIMIT], now=now
    )


@pytest.fixture
def jobs(scripts_dir: Any, now: datetime) -> tuple[Job, Job]:
    """Return two jobs."""
    return make_job("alpha", now), make_job("beta", now)


def client_as(user: User) -> APIClient:
    """Return a client signed in as `user`."""
    api = APIClient()
    api.force_authenticate(user)
    return api


def run_events() -> list[AuditEvent]:
    """Return the audited runs."""
    return list(AuditEvent.objects.filter(action=AuditEvent.Action.RUN))


def test_queues_every_item_in_one_go_with_one_audit_event(
    jobs: tuple[Job, Job], make_user: Callable[..., User], now: datetime
) -> None:
    """Three runs (two of one job at the same instant), in item order."""
    alpha, beta = jobs
    later = now + timedelta(hours=2)
    body = {
        "runs": [
            {"job": alpha.pk, "parameters": {"limit": "5"}},
            {"job": alpha.pk, "parameters": {"limit": 6}},
            {
                "job": beta.pk,
                "parameters": {"limit": 7},
                "not_before": later.isoformat(),
            },
        ]
    }
    response = client_as(make_user("ada", ADMIN)).post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert [(r["job"], r["parameters"]) for r in answer] == [
        (alpha.pk, {"limit": 5}),
        (alpha.pk, {"limit": 6}),
        (beta.pk, {"limit": 7}),
    ]
    runs = JobRun.objects.order_by("pk")
    assert [r.pk for r in runs] == [r["id"] for r in answer]
    assert {r.trigger for r in runs} == {JobRun.Trigger.API}
    assert {r.status for r in runs} == {JobRun.Status.QUEUED}
    assert [r.not_before for r in runs] == [
        now,
        now + timedelta(microseconds=1),
        later,
    ]
    [event] = run_events()
    assert event.target_type == BATCH_TARGET_TYPE
    assert event.changes["runs"] == [None, [r["id"] for r in answer]]
    assert event.changes["jobs"] == [None, sorted([alpha.pk, beta.pk])]


def test_a_bare_list_is_read_as_the_runs(
    jobs: tuple[Job, Job], make_user: Callable[..., User]
) -> None:
    """[{...}] is the same as {"runs": [{...}]}."""
    body = [{"job": jobs[0].pk, "parameters": {"limit": 1}}]
    response = client_as(make_user("ada", ADMIN)).post(URL, body, format="json")
    assert response.status_code == 201
    assert JobRun.objects.count() == 1


@pytest.mark.parametrize(
    ("item", "errors"),
    [
        ({"job": 1, "parameters": {"limit": "many"}}, "parameters"),
        ({"job": 1, "parameters": {}}, "parameters"),
        ({"job": 999}, "job"),
        ({"job": 2**64}, "job"),
        ({"job": 1, "not_before": "2026-03-01T10:00"}, "not_before"),
        ({"job": 1, "parameters": {"limit": 1}, "priority": 3}, "non_field_errors"),
    ],
)
def test_one_bad_item_queues_nothing_and_is_named_by_index(
    jobs: tuple[Job, Job],
    make_user: Callable[..., User],
    item: dict[str, Any],
    errors: str,
) -> None:
    """400 with {"runs": {"1": {field: ...}}}; no run, no audit event."""
    item = {**item, "job": jobs[0].pk if item["job"] == 1 else item["job"]}
    body = {"runs": [{"job": jobs[1].pk, "parameters": {"limit": 1}}, item]}
    response = client_as(make_user("ada", ADMIN)).post(URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["runs"]
    assert list(response.json()["runs"]) == ["1"]
    assert list(response.json()["runs"]["1"]) == [errors]
    assert not JobRun.objects.exists()
    assert run_events() == []


def test_an_unknown_job_is_named_without_saying_whether_it_exists(
    jobs: tuple[Job, Job], make_user: Callable[..., User]
) -> None:
    """A job the user may not see reads as no job at all."""
    response = client_as(make_user("ada", ADMIN)).post(
        URL, {"runs": [{"job": 999}]}, format="json"
    )
    assert response.json() == {"runs": {"0": {"job": [MSG_NO_JOB.format(value=999)]}}}


@pytest.mark.parametrize(("role", "refused"), [(EDITOR, 1), (VIEWER, 0)])
def test_the_right_to_run_each_job_is_checked(
    jobs: tuple[Job, Job],
    make_user: Callable[..., User],
    role: str,
    refused: int,
    now: datetime,
) -> None:
    """An Editor runs their own job, not another's; a Viewer none: 403, nothing."""
    user = make_user("ed", role)
    own = make_job("own", now, owner=user)
    body = {
        "runs": [
            {"job": own.pk, "parameters": {"limit": 1}},
            {"job": jobs[0].pk, "parameters": {"limit": 1}},
        ]
    }
    response = client_as(user).post(URL, body, format="json")
    assert response.status_code == 403
    action = ACTION_RUN_ITEM.format(index=refused)
    assert response.json() == {"detail": MSG_FORBIDDEN.format(action=action)}
    assert not JobRun.objects.exists()


@pytest.mark.usefixtures("require_approval")
def test_a_job_whose_script_may_not_run_is_named(
    jobs: tuple[Job, Job], make_user: Callable[..., User]
) -> None:
    """As "run now": a blocked script is refused rather than queued."""
    block = job_script_block(job=jobs[0])
    assert block is not None
    body = {"runs": [{"job": jobs[0].pk, "parameters": {"limit": 1}}]}
    response = client_as(make_user("ada", ADMIN)).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "runs": {"0": {"job": [MSG_NOT_RUNNABLE.format(reason=block.reason)]}}
    }
    assert not JobRun.objects.exists()


@pytest.mark.parametrize("body", [{"runs": []}, {}, [], "runs"])
def test_an_empty_or_shapeless_body_is_refused(
    make_user: Callable[..., User], body: Any
) -> None:
    """No runs at all is a 400, never a 500."""
    response = client_as(make_user("ada", ADMIN)).post(URL, body, format="json")
    assert response.status_code == 400
    assert not JobRun.objects.exists()


def test_more_than_the_limit_is_refused(
    jobs: tuple[Job, Job], make_user: Callable[..., User]
) -> None:
    """1001 items: 400 under "runs"."""
    body = {"runs": [{"job": jobs[0].pk}] * 1001}
    response = client_as(make_user("ada", ADMIN)).post(URL, body, format="json")
    assert response.status_code == 400
    assert "runs" in response.json()
    assert not JobRun.objects.exists()
