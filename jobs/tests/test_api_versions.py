"""The job versions API: list, detail, diff and restore, per role."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.roles import ADMIN, EDITOR, VIEWER
from jobs.api.access import MSG_FORBIDDEN
from jobs.api.views.versions import MSG_AGAINST_OTHER_JOB, MSG_NO_BODY
from jobs.models import Job, JobVersion, Secret
from jobs.presentation import (
    MSG_FIRST_VERSION,
    MSG_RESTORED,
    MSG_RESTORED_UNCHANGED,
)
from jobs.services.jobs import job_save
from jobs.services.secrets import secret_delete, secret_save
from jobs.services.versions import MSG_SECRETS_GONE, snapshot_ordered
from jobs.tests.factories import JobFactory
from jobs.version_diff import MSG_NO_CHANGES

# "now" is pinned to 2026-03-01 00:00 UTC for every test here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

DAILY_9 = {"type": "daily", "time": "09:00"}
SECRET_VALUE = "hunter2-not-for-eyes"
RESTORE_ACTION = "restore this version"


@pytest.fixture
def eddie(make_user: Callable[..., User]) -> User:
    """Return an Editor, the owner of the job."""
    return make_user("eddie", EDITOR)


@pytest.fixture
def job(scripts_dir: Path, eddie: User, now: datetime) -> Job:
    """Return eddie's job with three versions: 09:00, 10:00, 11:00."""
    return JobFactory.with_versions(name="nightly", now=now, actor=eddie)


@pytest.fixture
def other_job(scripts_dir: Path, now: datetime) -> Job:
    """Return a job of nobody's, with one version."""
    return JobFactory.create(
        name="other", script="fail.py", schedules=[DAILY_9], now=now
    )


@pytest.fixture
def grantee(make_user: Callable[..., User], job: Job) -> User:
    """Return a user without a role who may see (only) the job."""
    user = make_user("nora")
    assign_perm("view_job", user, job)
    return User.objects.get(pk=user.pk)


def as_user(client: APIClient, user: User | None) -> APIClient:
    """Authenticate `client` as `user` (None: anonymous)."""
    if user is not None:
        client.force_authenticate(user)
    return client


def version(job: Job, number: int) -> JobVersion:
    """Return version `number` of `job`."""
    return job.versions.get(number=number)


def url(name: str, target: JobVersion | int | str) -> str:
    """Return the URL of `name` ("detail", "diff", "restore") for a version."""
    pk = target.pk if isinstance(target, JobVersion) else target
    return reverse(f"api:version-{name}", args=[pk])


# --- the list ----------------------------------------------------------------


@pytest.mark.parametrize("role", [ADMIN, EDITOR, VIEWER])
def test_every_role_lists_all_versions_newest_first(
    api_client: APIClient,
    make_user: Callable[..., User],
    job: Job,
    other_job: Job,
    role: str,
) -> None:
    """Roles see every job, so every version; the newest comes first."""
    response = as_user(api_client, make_user("someone", role)).get(
        reverse("api:version-list")
    )
    assert response.status_code == 200
    rows = [(row["job_name"], row["number"]) for row in response.data["results"]]
    assert rows == [("other", 1), ("nightly", 3), ("nightly", 2), ("nightly", 1)]


def test_a_list_row_names_the_job_the_author_and_the_note(
    api_client: APIClient, eddie: User, job: Job
) -> None:
    """Each row: id, job, number, who stored it, note and when."""
    response = as_user(api_client, eddie).get(
        reverse("api:version-list"), {"job": str(job.pk), "ordering": "number"}
    )
    first = version(job, 1)
    assert response.data["results"][0] == {
        "id": first.pk,
        "job": job.pk,
        "job_name": "nightly",
        "number": 1,
        "author": "eddie",
        "note": "",
        "created_at": "2026-03-01T00:00:00Z",
    }


def test_a_grantee_lists_only_the_versions_of_granted_jobs(
    api_client: APIClient, grantee: User, job: Job, other_job: Job
) -> None:
    """No role: the granted job's versions only; another job's filter is empty."""
    client = as_user(api_client, grantee)
    response = client.get(reverse("api:version-list"))
    assert [row["job"] for row in response.data["results"]] == [job.pk] * 3
    response = client.get(reverse("api:version-list"), {"job": other_job.pk})
    assert (response.status_code, response.data["count"]) == (200, 0)


def test_the_list_filters_by_job(
    api_client: APIClient, eddie: User, job: Job, other_job: Job
) -> None:
    """?job= keeps that job's versions."""
    response = as_user(api_client, eddie).get(
        reverse("api:version-list"), {"job": other_job.pk}
    )
    assert [row["job_name"] for row in response.data["results"]] == ["other"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"job": "abc"}, "job"),
        ({"job": "99999999999999999999"}, "job"),
        ({"job": "0"}, "job"),
        ({"job": "1.5"}, "job"),
        ({"created_after": "notadate"}, "created_after"),
        ({"created_before": "0001-01-01T00:00:00+05:00"}, "created_before"),
        ({"ordering": "snapshot"}, "ordering"),
    ],
)
def test_bad_list_parameters_are_refused(
    api_client: APIClient, eddie: User, job: Job, query: dict[str, str], field: str
) -> None:
    """A bad filter is a 400 naming the parameter, never a 500."""
    response = as_user(api_client, eddie).get(reverse("api:version-list"), query)
    assert response.status_code == 400
    assert list(response.data) == [field]


def test_date_filters_take_offsets_postgresql_refuses(
    api_client: APIClient, eddie: User, job: Job
) -> None:
    """Python reads offsets up to 23:59, PostgreSQL 15:59: compared in UTC."""
    response = as_user(api_client, eddie).get(
        reverse("api:version-list"), {"created_after": "2026-02-28T23:18:00-18:48"}
    )
    assert (response.status_code, response.data["count"]) == (200, 0)


def test_anonymous_clients_must_sign_in(api_client: APIClient, job: Job) -> None:
    """Nothing is listed, shown or restored without signing in."""
    first = version(job, 1)
    for response in (
        api_client.get(reverse("api:version-list")),
        api_client.get(url("detail", first)),
        api_client.get(url("diff", first)),
        api_client.post(url("restore", first)),
    ):
        assert response.status_code in (401, 403)
        assert response.data["detail"].code == "not_authenticated"
    assert job.versions.count() == 3


# --- the detail --------------------------------------------------------------


def test_the_detail_shows_the_snapshot(
    api_client: APIClient, make_user: Callable[..., User], job: Job
) -> None:
    """The job document as it was, keys in document order."""
    third = version(job, 3)
    response = as_user(api_client, make_user("vera", VIEWER)).get(url("detail", third))
    assert response.status_code == 200
    assert response.data["snapshot"] == snapshot_ordered(third.snapshot)
    assert list(response.data["snapshot"])[:3] == ["name", "description", "script"]
    assert response.data["snapshot"]["schedules"] == [
        {"type": "daily", "time": "11:00"}
    ]


def test_secrets_appear_by_name_only(
    api_client: APIClient, make_user: Callable[..., User], job: Job, now: datetime
) -> None:
    """A version names the job's secrets; no value is anywhere in a response."""
    secret = secret_save(secret=Secret(name="API_TOKEN"), value=SECRET_VALUE, now=now)
    job_save(job=Job.objects.get(pk=job.pk), schedules=None, now=now, secrets=[secret])
    latest = version(job, 4)
    client = as_user(api_client, make_user("ada", ADMIN))
    detail = client.get(url("detail", latest))
    assert detail.data["snapshot"]["secrets"] == ["API_TOKEN"]
    responses = [
        detail,
        client.get(reverse("api:version-list")),
        client.get(url("diff", latest)),
    ]
    for response in responses:
        assert response.status_code == 200
        assert SECRET_VALUE not in response.content.decode()


def test_a_version_of_an_invisible_job_is_404(
    api_client: APIClient, grantee: User, other_job: Job
) -> None:
    """Not granted: not found, whatever the operation."""
    hidden = version(other_job, 1)
    client = as_user(api_client, grantee)
    assert client.get(url("detail", hidden)).status_code == 404
    assert client.get(url("diff", hidden)).status_code == 404
    assert client.post(url("restore", hidden)).status_code == 404
    assert other_job.versions.count() == 1


@pytest.mark.parametrize(
    "pk",
    ["999999", "99999999999999999999", "9" * 5000, "abc", "-1", "\u00b2", "%C2%84"],
)
def test_unknown_and_impossible_ids_are_404(
    api_client: APIClient, eddie: User, job: Job, pk: str
) -> None:
    """No such version, an id no column holds, or no number: 404, never 500."""
    client = as_user(api_client, eddie)
    response = client.get(f"/api/versions/{pk}/")
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert client.get(f"/api/versions/{pk}/diff/").status_code == 404
    assert client.post(f"/api/versions/{pk}/restore/").status_code == 404


# --- the diff ----------------------------------------------------------------


def test_the_diff_defaults_to_the_version_before(
    api_client: APIClient, grantee: User, job: Job
) -> None:
    """Version 3 against 2: the admin's change line, with old and new values."""
    third, second = version(job, 3), version(job, 2)
    response = as_user(api_client, grantee).get(url("diff", third))
    assert response.status_code == 200
    assert response.data == {
        "version": third.pk,
        "number": 3,
        "against": second.pk,
        "against_number": 2,
        "changes": [
            {
                "field": "schedules[0].time",
                "kind": "changed",
                "old": "10:00",
                "new": "11:00",
                "text": "schedules[0].time: '10:00' → '11:00'",
            }
        ],
        "note": "",
    }


def test_the_diff_compares_any_two_versions_of_the_job(
    api_client: APIClient, eddie: User, job: Job
) -> None:
    """?against= names the other version by id."""
    response = as_user(api_client, eddie).get(
        url("diff", version(job, 3)), {"against": version(job, 1).pk}
    )
    assert [change["text"] for change in response.data["changes"]] == [
        "schedules[0].time: '09:00' → '11:00'"
    ]
    assert response.data["against_number"] == 1


def test_added_and_removed_values_are_marked(
    api_client: APIClient, eddie: User, job: Job, now: datetime
) -> None:
    """An added key has no old value, a removed one no new value."""
    job_save(job=Job.objects.get(pk=job.pk), schedules=[DAILY_9, DAILY_9], now=now)
    client = as_user(api_client, eddie)
    added = client.get(url("diff", version(job, 4))).data["changes"][-1]
    assert (added["kind"], added["old"], added["new"]) == ("added", None, DAILY_9)
    removed = client.get(
        url("diff", version(job, 1)), {"against": version(job, 4).pk}
    ).data["changes"][-1]
    assert (removed["kind"], removed["old"], removed["new"]) == (
        "removed",
        DAILY_9,
        None,
    )
    # The value's text follows the stored key order, which jsonb does not keep.
    assert removed["text"].startswith("schedules[1]: removed (was {")


def test_the_first_version_has_nothing_to_compare_with(
    api_client: APIClient, eddie: User, job: Job
) -> None:
    """No earlier version: no changes, the admin's note."""
    data = as_user(api_client, eddie).get(url("diff", version(job, 1))).data
    assert (data["against"], data["changes"], data["note"]) == (
        None,
        [],
        MSG_FIRST_VERSION,
    )


def test_a_version_against_itself_has_no_changes(
    api_client: APIClient, eddie: User, job: Job
) -> None:
    """Equal snapshots: "No changes."."""
    second = version(job, 2)
    data = as_user(api_client, eddie).get(url("diff", second), {"against": second.pk})
    assert (data.data["changes"], data.data["note"]) == ([], MSG_NO_CHANGES)


@pytest.mark.parametrize(
    "against",
    ["other-job", "999999", "99999999999999999999", "9" * 5000, "abc", "0", "\u00b2"],
)
def test_bad_against_is_refused(
    api_client: APIClient, eddie: User, job: Job, other_job: Job, against: str
) -> None:
    """Another job's version, no version, or no id: 400 naming "against"."""
    if against == "other-job":
        against = str(version(other_job, 1).pk)
    response = as_user(api_client, eddie).get(
        url("diff", version(job, 3)), {"against": against}
    )
    assert response.status_code == 400
    assert list(response.data) == ["against"]
    if re.fullmatch("[1-9][0-9]{0,5}", against):
        assert response.data["against"] == [
            MSG_AGAINST_OTHER_JOB.format(against=against)
        ]


# --- restore -----------------------------------------------------------------


def test_the_owner_restores_a_version_as_a_new_one(
    api_client: APIClient, eddie: User, job: Job
) -> None:
    """Version 1 comes back as version 4, audited as a restore with the IP."""
    response = as_user(api_client, eddie).post(url("restore", version(job, 1)))
    assert response.status_code == 200
    assert response.data["detail"] == MSG_RESTORED.format(old=1, job="nightly", new=4)
    assert (response.data["is_changed"], response.data["job"]) == (True, job.pk)
    assert (response.data["version"]["number"], response.data["version"]["author"]) == (
        4,
        "eddie",
    )
    job.refresh_from_db()
    assert job.schedule_documents() == [DAILY_9]
    event = AuditEvent.objects.get(action=AuditEvent.Action.RESTORE)
    assert (event.actor, event.ip) == (eddie, "127.0.0.1")
    assert event.changes == {"schedules[0].time": ["11:00", "09:00"]}


def test_restoring_the_current_definition_changes_nothing(
    api_client: APIClient, eddie: User, job: Job
) -> None:
    """The latest version restored: no new version, the admin's message."""
    response = as_user(api_client, eddie).post(url("restore", version(job, 3)))
    assert response.status_code == 200
    assert response.data["detail"] == MSG_RESTORED_UNCHANGED.format(
        old=3, job="nightly"
    )
    assert (response.data["is_changed"], response.data["version"]["number"]) == (
        False,
        3,
    )
    assert job.versions.count() == 3


def test_an_admin_restores_any_job(
    api_client: APIClient, make_user: Callable[..., User], job: Job
) -> None:
    """The Admin role changes every job."""
    response = as_user(api_client, make_user("ada", ADMIN)).post(
        url("restore", version(job, 2))
    )
    assert response.status_code == 200
    assert response.data["version"]["author"] == "ada"


@pytest.mark.parametrize("role", [EDITOR, VIEWER])
def test_roles_without_the_right_to_change_the_job_may_not_restore(
    api_client: APIClient, make_user: Callable[..., User], job: Job, role: str
) -> None:
    """A Viewer, or an Editor who does not own the job: 403."""
    response = as_user(api_client, make_user("someone", role)).post(
        url("restore", version(job, 1))
    )
    assert response.status_code == 403
    assert response.data["detail"] == MSG_FORBIDDEN.format(action=RESTORE_ACTION)
    assert job.versions.count() == 3
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RESTORE).exists()


def test_a_grantee_restores_only_with_the_change_right(
    api_client: APIClient, grantee: User, job: Job
) -> None:
    """Seeing the job is not enough; a change grant is."""
    client = as_user(api_client, grantee)
    response = client.post(url("restore", version(job, 1)))
    assert response.status_code == 403
    assert response.data["detail"] == MSG_FORBIDDEN.format(action=RESTORE_ACTION)
    assign_perm("change_job", grantee, job)
    client.force_authenticate(User.objects.get(pk=grantee.pk))
    response = client.post(url("restore", version(job, 1)))
    assert (response.status_code, response.data["version"]["number"]) == (200, 4)


def test_a_restore_that_is_no_longer_valid_says_why(
    api_client: APIClient, eddie: User, job: Job, now: datetime
) -> None:
    """A version naming a deleted secret: 400 with the service's message."""
    secret = secret_save(secret=Secret(name="GONE"), value="x", now=now)
    job_save(job=Job.objects.get(pk=job.pk), schedules=None, now=now, secrets=[secret])
    job_save(job=Job.objects.get(pk=job.pk), schedules=None, now=now, secrets=[])
    secret_delete(secret=secret, now=now)
    response = as_user(api_client, eddie).post(url("restore", version(job, 4)))
    assert response.status_code == 400
    assert response.data == {"secrets": [MSG_SECRETS_GONE.format(names="GONE")]}
    assert job.versions.count() == 5


@pytest.mark.parametrize("body", [{"number": 2}, [1], "x"])
def test_a_restore_takes_no_body(
    api_client: APIClient, eddie: User, job: Job, body: Any
) -> None:
    """Whatever a body says, it is refused rather than ignored."""
    response = as_user(api_client, eddie).post(
        url("restore", version(job, 1)), body, format="json"
    )
    assert (response.status_code, response.data) == (
        400,
        {"non_field_errors": [MSG_NO_BODY]},
    )
    assert job.versions.count() == 3
