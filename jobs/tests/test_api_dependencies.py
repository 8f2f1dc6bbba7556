"""Dependencies through the API: in job documents, checked as in the admin."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.roles import ADMIN
from jobs.models import Job, JobDependency
from jobs.services.grants import job_rights_set
from jobs.services.job_dependencies import MSG_CYCLE, MSG_SELF, MSG_UNKNOWN_JOB
from jobs.tests.factories import JobFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

LIST = "/api/jobs"
MANUAL = [{"type": "manual"}]


def document(name: str, *upstreams: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "script": "ok.py",
        "schedules": MANUAL,
        "dependencies": [{"job": up} for up in upstreams],
        **extra,
    }


@pytest.fixture
def admin(make_user: Callable[..., User]) -> APIClient:
    client = APIClient()
    client.force_authenticate(make_user("ada", ADMIN))
    return client


@pytest.fixture
def make(scripts_dir: Any, now: datetime) -> Callable[..., Job]:
    def save(name: str, **fields: Any) -> Job:
        return JobFactory.create(name=name, schedules=MANUAL, now=now, **fields)

    return save


def test_a_job_is_created_with_its_dependencies_and_mode(
    admin: APIClient, make: Callable[..., Job]
) -> None:
    make("extract")
    body = document("transform", "extract", dependency_mode="all_complete")
    body["dependencies"][0]["window_hours"] = 12
    response = admin.post(LIST, body, format="json")
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["dependencies"] == [{"job": "extract", "window_hours": 12}]
    assert answer["dependency_mode"] == "all_complete"
    job = Job.objects.get(name="transform")
    assert list(job.dependencies.values_list("depends_on__name", "window_hours")) == [
        ("extract", 12)
    ]


def test_a_cycle_is_a_400_naming_it(admin: APIClient, make: Callable[..., Job]) -> None:
    a = make("A")
    response = admin.post(LIST, document("B", "A"), format="json")
    assert response.status_code == 201
    response = admin.patch(
        f"{LIST}/{a.pk}", {"dependencies": [{"job": "B"}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"dependencies": [MSG_CYCLE.format(cycle="A → B → A")]}
    assert not JobDependency.objects.filter(job=a).exists()


def test_self_and_unknown_jobs_are_refused(
    admin: APIClient, make: Callable[..., Job]
) -> None:
    response = admin.post(LIST, document("A", "A"), format="json")
    assert response.json() == {"dependencies": [MSG_SELF]}
    response = admin.post(LIST, document("A", "nope"), format="json")
    assert response.json() == {"dependencies": [MSG_UNKNOWN_JOB.format(name="nope")]}


def test_a_bad_dependency_entry_names_its_field(admin: APIClient) -> None:
    body = document("A")
    body["dependencies"] = [{"job": "x", "window_hours": 0, "extra": 1}, "y"]
    response = admin.post(LIST, body, format="json")
    assert response.status_code == 400
    errors = response.json()["dependencies"]
    assert set(errors) == {"0", "1"}


def test_a_user_may_not_depend_on_a_job_they_cannot_see(
    make_user: Callable[..., User], make: Callable[..., Job], now: datetime
) -> None:
    """Per-job rights only: an unseen job reads as unknown, not forbidden."""
    user = make_user("gus")
    mine = make("mine")
    make("hidden")
    job_rights_set(
        job=mine, grantee=user, rights=["view_job", "change_job"], actor=None, now=now
    )
    client = APIClient()
    client.force_authenticate(user)
    response = client.patch(
        f"{LIST}/{mine.pk}", {"dependencies": [{"job": "hidden"}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"dependencies": [MSG_UNKNOWN_JOB.format(name="hidden")]}
