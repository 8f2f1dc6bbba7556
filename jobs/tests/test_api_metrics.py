"""`GET /api/metrics`: the hand-computed fixture through the API, scoped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from jobportal.tests.clocks import FrozenClock
from jobs.api.views.metrics import MSG_JOB, MSG_ORDER, MSG_UNKNOWN
from jobs.models import Job
from jobs.services.grants import job_rights_set
from jobs.services.metrics import metrics_consume
from jobs.tests.metrics_fixture import DAY, LOOK_AT, record_fixture

pytestmark = pytest.mark.django_db

URL = "/api/metrics"
RANGE = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T12:00:00Z"}


@pytest.fixture
def jobs(make_job: Callable[..., Job], frozen_clock: FrozenClock) -> tuple[Job, Job]:
    """The fixture's jobs with their runs counted; the clock at LOOK_AT."""
    alpha, beta = make_job("alpha"), make_job("beta")
    record_fixture(alpha, beta)
    metrics_consume(now=LOOK_AT)
    frozen_clock.set(LOOK_AT)
    return alpha, beta


def get(client: APIClient, user: User, **params: Any) -> Any:
    """GET the metrics as `user`."""
    client.force_authenticate(user)
    return client.get(URL, params)


def test_figures_match_the_table(
    api_client: APIClient, jobs: tuple[Job, Job], make_user: Callable[..., User]
) -> None:
    """5 runs, 50 % success, lateness p95 26 s, durations summed."""
    body = get(api_client, make_user("viewer", "Viewer"), **RANGE).json()
    assert body["runs"] == {
        "total": 5,
        "by_status": {"succeeded": 2, "failed": 1, "skipped": 1, "timed_out": 1},
        "failures": 2,
        "success_rate": 0.5,
    }
    assert body["lateness_seconds"]["p95"] == pytest.approx(26.0)
    assert body["duration_seconds"]["sum"] == 3690.0
    assert body["duration_seconds"]["max"] == 3600.0
    assert body["jobs_by_last_status"] == {"failed": 1, "skipped": 1, "never": 0}
    assert body["from"] == "2026-03-01T00:00:00Z"
    assert body["jobs"] is None


def test_the_default_range_is_the_last_24_hours(
    api_client: APIClient, jobs: tuple[Job, Job], make_user: Callable[..., User]
) -> None:
    """From LOOK_AT - 24 h: every run of the fixture."""
    body = get(api_client, make_user("viewer", "Viewer")).json()
    assert body["runs"]["total"] == 5
    assert body["from"] == "2026-02-28T12:00:00Z"


def test_filter_by_job(
    api_client: APIClient, jobs: tuple[Job, Job], make_user: Callable[..., User]
) -> None:
    """alpha alone: 3 runs, 2 of 3 succeeded."""
    alpha, _ = jobs
    body = get(api_client, make_user("viewer", "Viewer"), job=alpha.pk, **RANGE).json()
    assert body["runs"]["total"] == 3
    assert body["runs"]["success_rate"] == pytest.approx(2 / 3)
    assert body["jobs"] == [alpha.pk]


def test_a_user_sees_only_their_jobs_figures(
    api_client: APIClient, jobs: tuple[Job, Job], make_user: Callable[..., User]
) -> None:
    """Granted alpha only: alpha's figures; naming beta is a 400 on "job"."""
    alpha, beta = jobs
    admin = make_user("boss", "Admin")
    guest = make_user("guest")
    job_rights_set(job=alpha, grantee=guest, rights=["view_job"], actor=admin, now=DAY)
    assert get(api_client, guest, **RANGE).json()["runs"]["total"] == 3
    response = get(api_client, guest, job=beta.pk)
    assert response.status_code == 400
    assert response.json() == {"job": [MSG_JOB.format(value=beta.pk)]}


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"jobs": "1"}, {"jobs": [MSG_UNKNOWN]}),
        (
            {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
            {"to": [MSG_ORDER]},
        ),
        ({"job": "abc"}, {"job": {"0": ["A valid integer is required."]}}),
    ],
)
def test_bad_queries_are_named(
    api_client: APIClient,
    jobs: tuple[Job, Job],
    make_user: Callable[..., User],
    params: dict[str, str],
    errors: dict[str, Any],
) -> None:
    """Unknown parameters, a backwards range and a bad id: 400 naming them."""
    response = get(api_client, make_user("viewer", "Viewer"), **params)
    assert response.status_code == 400
    assert response.json() == errors


def test_a_naive_instant_is_refused(
    api_client: APIClient, jobs: tuple[Job, Job], make_user: Callable[..., User]
) -> None:
    """ "from" without an offset is ambiguous."""
    response = get(
        api_client, make_user("viewer", "Viewer"), **{"from": "2026-03-01T00:00"}
    )
    assert response.status_code == 400
    assert list(response.json()) == ["from"]


def test_anonymous_is_refused(api_client: APIClient, db: None) -> None:
    """No credentials: 401."""
    assert api_client.get(URL).status_code == 401


def grant_alpha(how: str, alpha: Job, make_user: Callable[..., User]) -> User:
    """Return a user without a role who sees alpha as `how` says."""
    admin = make_user("boss", "Admin")
    guest = make_user("guest")
    if how == "group":
        group = Group.objects.create(name="alpha-watchers")
        guest.groups.add(group)
        job_rights_set(
            job=alpha, grantee=group, rights=["view_job"], actor=admin, now=DAY
        )
    else:
        job_rights_set(job=alpha, grantee=guest, rights=[how], actor=admin, now=DAY)
    return User.objects.get(pk=guest.pk)


@pytest.mark.parametrize("how", ["view_job", "run_job", "group"])
def test_a_restricted_user_gets_exactly_their_jobs_figures(
    api_client: APIClient,
    jobs: tuple[Job, Job],
    make_user: Callable[..., User],
    how: str,
) -> None:
    """alpha alone, by hand: 2 succeeded + 1 failed; late 1, 3, 0.5 s; took 90 s.

    Lateness buckets (0.25, 0.5] 1, (0.5, 1] 1, (2, 5] 1: p50 = 0.5 + 0.5 *
    0.5 = 0.75 s, p95 = 2 + 3 * 0.85 = 4.55 s, p99 = 2 + 3 * 0.97 = 4.91 s.
    """
    body = get(api_client, grant_alpha(how, jobs[0], make_user), **RANGE).json()
    assert body["runs"] == {
        "total": 3,
        "by_status": {"succeeded": 2, "failed": 1},
        "failures": 1,
        "success_rate": pytest.approx(2 / 3),
    }
    assert body["duration_seconds"]["count"] == 3
    assert body["duration_seconds"]["sum"] == 90.0
    assert body["duration_seconds"]["max"] == 60.0
    lateness = body["lateness_seconds"]
    assert (lateness["count"], lateness["sum"]) == (3, 4.5)
    assert lateness["p50"] == pytest.approx(0.75)
    assert lateness["p95"] == pytest.approx(4.55)
    assert lateness["p99"] == pytest.approx(4.91)
    assert body["jobs_by_last_status"] == {"failed": 1, "never": 0}
    assert body["jobs"] is None
