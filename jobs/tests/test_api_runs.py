"""The run endpoints: /api/jobs/{id}/logs, /api/logs, detail, cancel, mark-failed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from jobportal.api.filters import MSG_RANGE
from jobs.api.access import MSG_FORBIDDEN
from jobs.api.views.runs import ACTION_CANCEL, ACTION_MARK_FAILED
from jobs.models import Job, JobRun, Worker
from jobs.services.grants import job_rights_set
from jobs.services.runs import (
    MSG_CANCELLED_BY,
    MSG_MARKED_FAILED,
    MSG_NOT_CANCELLABLE,
    MSG_NOT_RUNNING,
)
from jobs.tests.run_records import SLOT, make_run, make_worker

pytestmark = pytest.mark.django_db

NOT_SIGNED_IN = "Authentication credentials were not provided."
NOT_FOUND = "No JobRun matches the given query."
JOB_NOT_FOUND = "No Job matches the given query."
HUGE_ID = "99999999999999999999"


@pytest.fixture
def users(make_user: Callable[..., User]) -> dict[str, User]:
    """Return one user per role, a second Editor, and a user without a role."""
    return {
        "admin": make_user("ada", "Admin"),
        "owner": make_user("olga", "Editor"),
        "editor": make_user("eddie", "Editor"),
        "viewer": make_user("vera", "Viewer"),
        "nobody": make_user("nora"),
    }


@pytest.fixture
def jobs(make_job: Callable[..., Job], users: dict[str, User]) -> dict[str, Job]:
    """Return two jobs owned by "owner"; "nobody" may only view "granted"."""
    granted = make_job("granted", owner=users["owner"])
    other = make_job("other", owner=users["owner"])
    job_rights_set(
        job=granted,
        grantee=users["nobody"],
        rights=["view_job"],
        actor=users["admin"],
        now=SLOT,
    )
    return {"granted": granted, "other": other}


@pytest.fixture
def worker() -> Worker:
    """Return a live worker."""
    return make_worker("host-a-4242")


def ids(response: Any) -> list[int]:
    """Return the run ids of a list response's page."""
    return [item["id"] for item in response.json()["results"]]


def job_logs(job: Job | int) -> str:
    """Return the URL of a job's run list."""
    return reverse("api:job-logs", kwargs={"job_pk": getattr(job, "pk", job)})


def run_url(run: JobRun | int | str, name: str = "api:log-detail") -> str:
    """Return the URL of a run's detail, or of one of its actions."""
    return reverse(name, kwargs={"pk": getattr(run, "pk", run)})


# --- lists -------------------------------------------------------------------


def test_job_logs_lists_the_jobs_runs_newest_first(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job], worker: Worker
) -> None:
    """Each row has the job, times, duration, lateness and worker; no output."""
    old = make_run(jobs["granted"], worker=worker, reason="")
    new = make_run(
        jobs["granted"],
        scheduled_for=SLOT + timedelta(hours=1),
        not_before=SLOT + timedelta(hours=1),
        started_at=None,
        finished_at=None,
        exit_code=None,
        status=JobRun.Status.QUEUED,
    )
    make_run(jobs["other"])
    api_client.force_authenticate(users["viewer"])

    response = api_client.get(job_logs(jobs["granted"]))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert ids(response) == [new.pk, old.pk]
    assert body["results"][1] == {
        "id": old.pk,
        "job": {"id": jobs["granted"].pk, "name": "granted"},
        "status": "succeeded",
        "trigger": "schedule",
        "attempt": 1,
        "scheduled_for": "2026-02-28T01:00:00Z",
        "started_at": "2026-02-28T01:00:01Z",
        "finished_at": "2026-02-28T01:01:24Z",
        "duration_seconds": 83.0,
        "exit_code": 0,
        "lateness_seconds": 1.0,
        "worker": "host-a-4242",
        "triggered_by": None,
        "reason": "",
    }
    assert body["results"][0]["lateness_seconds"] is None
    assert body["results"][0]["duration_seconds"] is None


@pytest.mark.parametrize("role", ["admin", "owner", "editor", "viewer"])
def test_every_role_sees_every_jobs_runs(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job], role: str
) -> None:
    """Admin, Editors (owner or not) and Viewer see all runs."""
    granted, other = make_run(jobs["granted"]), make_run(jobs["other"])
    api_client.force_authenticate(users[role])

    assert ids(api_client.get(job_logs(jobs["other"]))) == [other.pk]
    assert sorted(ids(api_client.get(reverse("api:log-list")))) == sorted(
        [granted.pk, other.pk]
    )


def test_granted_user_sees_only_the_granted_jobs_runs(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job]
) -> None:
    """A user without a role sees the runs of the job granted to them only."""
    granted = make_run(jobs["granted"])
    other = make_run(jobs["other"])
    api_client.force_authenticate(users["nobody"])

    assert ids(api_client.get(job_logs(jobs["granted"]))) == [granted.pk]
    assert ids(api_client.get(reverse("api:log-list"))) == [granted.pk]
    hidden = api_client.get(job_logs(jobs["other"]))
    assert hidden.status_code == 404
    assert hidden.json() == {"detail": JOB_NOT_FOUND}
    assert api_client.get(run_url(other)).status_code == 404


def test_user_without_role_or_grant_sees_nothing(
    api_client: Any, make_user: Callable[..., User], jobs: dict[str, Job]
) -> None:
    """No role, no grant: an empty list, and a 404 for any job's runs."""
    make_run(jobs["granted"])
    api_client.force_authenticate(make_user("stranger"))

    assert api_client.get(reverse("api:log-list")).json()["count"] == 0
    assert api_client.get(job_logs(jobs["granted"])).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        lambda job, run: job_logs(job),
        lambda job, run: reverse("api:log-list"),
        lambda job, run: run_url(run),
    ],
    ids=["job-logs", "all-logs", "detail"],
)
def test_anonymous_clients_are_refused(
    api_client: Any, jobs: dict[str, Job], url: Callable[[Job, JobRun], str]
) -> None:
    """Reading runs needs a signed-in user."""
    run = make_run(jobs["granted"])

    response = api_client.get(url(jobs["granted"], run))

    assert response.status_code in (401, 403)
    assert response.json() == {"detail": NOT_SIGNED_IN}


@pytest.mark.parametrize("job_pk", ["999999", HUGE_ID])
def test_job_logs_of_a_missing_job_is_404(
    api_client: Any, users: dict[str, User], job_pk: str
) -> None:
    """Unknown and impossibly large job ids are a 404, never a 500."""
    api_client.force_authenticate(users["admin"])

    assert api_client.get(job_logs(int(job_pk))).status_code == 404


def test_lists_cost_the_same_queries_for_one_run_or_many(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job], worker: Worker
) -> None:
    """Job, worker and user come with the runs: no query per row."""
    api_client.force_authenticate(users["admin"])
    make_run(jobs["granted"], worker=worker, triggered_by=users["owner"])
    api_client.get(reverse("api:log-list"))  # warm caches (permissions, throttle)
    with CaptureQueriesContext(connection) as one:
        api_client.get(reverse("api:log-list"))
    for hour in range(1, 6):
        make_run(
            jobs["other"],
            scheduled_for=SLOT + timedelta(hours=hour),
            worker=worker,
            triggered_by=users["editor"],
        )
    with CaptureQueriesContext(connection) as six:
        response = api_client.get(reverse("api:log-list"))

    assert response.json()["count"] == 6
    assert len(six) == len(one)


def test_lists_are_paginated(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job]
) -> None:
    """?page_size limits a page; "next" links to the rest."""
    for hour in range(3):
        make_run(jobs["granted"], scheduled_for=SLOT + timedelta(hours=hour))
    api_client.force_authenticate(users["viewer"])

    body = api_client.get(job_logs(jobs["granted"]), {"page_size": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None


# --- filters -----------------------------------------------------------------


@pytest.fixture
def three_runs(jobs: dict[str, Job]) -> dict[str, JobRun]:
    """Return a failed, a lost and a succeeded run, an hour apart."""
    return {
        "failed": make_run(jobs["granted"], status=JobRun.Status.FAILED),
        "lost": make_run(
            jobs["granted"],
            status=JobRun.Status.LOST,
            scheduled_for=SLOT + timedelta(hours=1),
        ),
        "succeeded": make_run(jobs["other"], scheduled_for=SLOT + timedelta(hours=2)),
    }


def test_status_filter_takes_one_or_several_statuses(
    api_client: Any, users: dict[str, User], three_runs: dict[str, JobRun]
) -> None:
    """?status=failed&status=lost keeps runs in either status."""
    api_client.force_authenticate(users["viewer"])
    url = reverse("api:log-list")

    assert ids(api_client.get(url, {"status": "failed"})) == [three_runs["failed"].pk]
    assert ids(api_client.get(url, {"status": ["failed", "lost"]})) == [
        three_runs["lost"].pk,
        three_runs["failed"].pk,
    ]


def test_date_range_filters_on_the_slot(
    api_client: Any, users: dict[str, User], three_runs: dict[str, JobRun]
) -> None:
    """?after is inclusive, ?before exclusive; offsets are honoured (03:00Z)."""
    api_client.force_authenticate(users["viewer"])

    response = api_client.get(
        reverse("api:log-list"),
        {"after": "2026-02-28T01:00:00Z", "before": "2026-02-28T06:00:00+03:00"},
    )

    assert ids(response) == [three_runs["lost"].pk, three_runs["failed"].pk]


def test_date_filters_take_offsets_postgresql_refuses(
    api_client: Any,
    users: dict[str, User],
    three_runs: dict[str, JobRun],
) -> None:
    """Python reads offsets up to 23:59, PostgreSQL 15:59: compared in UTC."""
    api_client.force_authenticate(users["viewer"])

    response = api_client.get(
        reverse("api:log-list"), {"after": "2026-02-28T23:18:00+23:18"}
    )

    assert response.status_code == 200


def test_job_filter_keeps_one_jobs_runs(
    api_client: Any,
    users: dict[str, User],
    jobs: dict[str, Job],
    three_runs: dict[str, JobRun],
) -> None:
    """?job=<id> on /api/logs."""
    api_client.force_authenticate(users["viewer"])

    response = api_client.get(reverse("api:log-list"), {"job": jobs["other"].pk})

    assert ids(response) == [three_runs["succeeded"].pk]


def test_job_logs_filters_by_status_and_date(
    api_client: Any,
    users: dict[str, User],
    jobs: dict[str, Job],
    three_runs: dict[str, JobRun],
) -> None:
    """The job's run list takes the same filters."""
    api_client.force_authenticate(users["viewer"])

    response = api_client.get(
        job_logs(jobs["granted"]),
        {"status": "lost", "after": "2026-02-28"},
    )

    assert ids(response) == [three_runs["lost"].pk]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        (
            {"status": "nonsense"},
            {
                "status": [
                    "Select a valid choice. nonsense is not one of the "
                    "available choices."
                ]
            },
        ),
        ({"after": "yesterday"}, {"after": ["Enter a valid date/time."]}),
        ({"before": "2026-13-01"}, {"before": ["Enter a valid date/time."]}),
        ({"after": "0001-01-01T00:00:00+05:00"}, {"after": [MSG_RANGE]}),
        ({"job": "abc"}, {"job": ["Enter a whole number."]}),
        ({"job": "1.5"}, {"job": ["Enter a whole number."]}),
        (
            {"job": HUGE_ID},
            {
                "job": [
                    "Ensure this value is less than or equal to 9223372036854775807."
                ]
            },
        ),
    ],
    ids=["status", "after", "before", "out-of-range", "job", "job-float", "job-huge"],
)
def test_bad_filter_values_are_400_naming_the_parameter(
    api_client: Any,
    users: dict[str, User],
    jobs: dict[str, Job],
    params: dict[str, str],
    errors: dict[str, list[str]],
) -> None:
    """A bad filter value is refused, never ignored and never a 500."""
    api_client.force_authenticate(users["viewer"])

    response = api_client.get(reverse("api:log-list"), params)

    assert response.status_code == 400
    assert response.json() == errors


# --- detail ------------------------------------------------------------------


def test_detail_shows_the_output_and_everything_else(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job], worker: Worker
) -> None:
    """The detail has the stored output, dropped bytes, parameters and times."""
    run = make_run(
        jobs["granted"],
        worker=worker,
        triggered_by=users["owner"],
        trigger=JobRun.Trigger.MANUAL,
        parameters={"region": "eu"},
        output="head\n... [10 bytes of output dropped] ...\ntail\n",
        output_dropped_bytes=10,
    )
    api_client.force_authenticate(users["nobody"])

    body = api_client.get(run_url(run)).json()

    assert body["output"] == "head\n... [10 bytes of output dropped] ...\ntail\n"
    assert body["output_dropped_bytes"] == 10
    assert body["parameters"] == {"region": "eu"}
    assert body["triggered_by"] == "olga"
    assert body["worker"] == "host-a-4242"
    assert body["queued_at"] == "2026-02-28T01:00:00Z"
    assert body["not_before"] == "2026-02-28T01:00:00Z"
    assert body["missed_slots"] == 0
    assert body["cancel_requested_at"] is None
    assert body["cancel_requested_by"] is None


def test_list_leaves_the_output_out(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job]
) -> None:
    """Output can be large: only the detail carries it."""
    make_run(jobs["granted"])
    api_client.force_authenticate(users["viewer"])

    row = api_client.get(reverse("api:log-list")).json()["results"][0]

    assert "output" not in row


@pytest.mark.parametrize("pk", ["999999", HUGE_ID])
def test_detail_of_a_missing_run_is_404(
    api_client: Any, users: dict[str, User], pk: str
) -> None:
    """Unknown and impossibly large run ids are a 404, never a 500."""
    api_client.force_authenticate(users["admin"])

    response = api_client.get(run_url(pk))

    assert response.status_code == 404


def test_detail_ignores_list_filters(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job]
) -> None:
    """Query parameters of the list do not hide or break a detail."""
    run = make_run(jobs["granted"])
    api_client.force_authenticate(users["viewer"])

    response = api_client.get(run_url(run), {"status": "nonsense"})

    assert response.status_code == 200


# --- cancel ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_cancel_cancels_a_queued_run(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job], role: str
) -> None:
    """Those who may run the job cancel its queued run, with an audit event."""
    run = make_run(
        jobs["granted"],
        status=JobRun.Status.QUEUED,
        started_at=None,
        finished_at=None,
        exit_code=None,
    )
    user = users[role]
    api_client.force_authenticate(user)

    response = api_client.post(run_url(run, "api:log-cancel"))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["reason"] == MSG_CANCELLED_BY.format(user=user.username)
    assert body["cancel_requested_by"] == user.username
    event = AuditEvent.objects.get(action=AuditEvent.Action.CANCEL)
    assert event.actor == user


def test_cancel_asks_the_worker_to_stop_a_running_run(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job], worker: Worker
) -> None:
    """A running run stays running until its worker stops it."""
    run = make_run(
        jobs["granted"],
        status=JobRun.Status.RUNNING,
        worker=worker,
        finished_at=None,
        exit_code=None,
    )
    api_client.force_authenticate(users["owner"])

    body = api_client.post(run_url(run, "api:log-cancel")).json()

    assert body["status"] == "running"
    assert body["cancel_requested_at"] is not None


@pytest.mark.parametrize("role", ["editor", "viewer", "nobody"])
def test_cancel_without_the_right_to_run_the_job_is_403(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job], role: str
) -> None:
    """A non-owner Editor, a Viewer and a view-only grantee may not cancel."""
    run = make_run(jobs["granted"], status=JobRun.Status.QUEUED)
    api_client.force_authenticate(users[role])

    response = api_client.post(run_url(run, "api:log-cancel"))

    assert response.status_code == 403
    assert response.json() == {"detail": MSG_FORBIDDEN.format(action=ACTION_CANCEL)}
    run.refresh_from_db()
    assert run.status == JobRun.Status.QUEUED


def test_grantee_with_the_run_right_may_cancel(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job]
) -> None:
    """A user without a role but granted "run_job" cancels that job's runs."""
    job_rights_set(
        job=jobs["granted"],
        grantee=users["nobody"],
        rights=["view_job", "run_job"],
        actor=users["admin"],
        now=SLOT,
    )
    run = make_run(jobs["granted"], status=JobRun.Status.QUEUED)
    api_client.force_authenticate(users["nobody"])

    response = api_client.post(run_url(run, "api:log-cancel"))

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_cancel_of_an_invisible_run_is_404(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job]
) -> None:
    """A run the user may not see is not found, whatever its state."""
    run = make_run(jobs["other"], status=JobRun.Status.QUEUED)
    api_client.force_authenticate(users["nobody"])

    assert api_client.post(run_url(run, "api:log-cancel")).status_code == 404


def test_cancel_of_a_finished_run_is_400_with_the_services_message(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job]
) -> None:
    """Finished runs cannot be cancelled."""
    run = make_run(jobs["granted"])
    api_client.force_authenticate(users["admin"])

    response = api_client.post(run_url(run, "api:log-cancel"))

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [MSG_NOT_CANCELLABLE.format(status="succeeded")]
    }


def test_anonymous_cancel_is_refused(api_client: Any, jobs: dict[str, Job]) -> None:
    """Cancelling needs a signed-in user."""
    run = make_run(jobs["granted"], status=JobRun.Status.QUEUED)

    response = api_client.post(run_url(run, "api:log-cancel"))

    assert response.status_code in (401, 403)
    run.refresh_from_db()
    assert run.status == JobRun.Status.QUEUED


# --- mark failed -------------------------------------------------------------


def test_mark_failed_fails_a_running_run(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job], worker: Worker
) -> None:
    """The owner marks a run on a dead worker failed, as in the admin."""
    run = make_run(
        jobs["granted"],
        status=JobRun.Status.RUNNING,
        worker=worker,
        finished_at=None,
        exit_code=None,
    )
    api_client.force_authenticate(users["owner"])

    response = api_client.post(run_url(run, "api:log-mark-failed"))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed"
    assert body["reason"] == MSG_MARKED_FAILED.format(user="olga", worker="host-a-4242")


def test_mark_failed_of_a_queued_run_is_400(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job]
) -> None:
    """Only running runs can be marked failed."""
    run = make_run(jobs["granted"], status=JobRun.Status.QUEUED)
    api_client.force_authenticate(users["admin"])

    response = api_client.post(run_url(run, "api:log-mark-failed"))

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [MSG_NOT_RUNNING.format(status="queued")]
    }


def test_mark_failed_without_the_right_to_run_the_job_is_403(
    api_client: Any, users: dict[str, User], jobs: dict[str, Job]
) -> None:
    """A Viewer sees the run but may not mark it failed."""
    run = make_run(jobs["granted"], status=JobRun.Status.RUNNING)
    api_client.force_authenticate(users["viewer"])

    response = api_client.post(run_url(run, "api:log-mark-failed"))

    assert response.status_code == 403
    assert response.json() == {
        "detail": MSG_FORBIDDEN.format(action=ACTION_MARK_FAILED)
    }
