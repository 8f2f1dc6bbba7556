"""The jobs endpoints of the REST API, per role, against the real database.

Roles: Admin, Editor owning the job, Editor not owning it, Viewer, a user
without a role holding per-job grants, and anonymous. Writes are read back
from the database, with their audit events and job versions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.roles import ADMIN, EDITOR, VIEWER
from jobportal.api.parsers import MSG_TOO_DEEP
from jobportal.api.serializers import (
    MSG_NO_FIELDS,
    MSG_UNKNOWN_FIELDS,
    MSG_UNSTORABLE_TEXT,
)
from jobs.api.access import MSG_FORBIDDEN
from jobs.api.filters import MSG_BOOLEAN
from jobs.api.serializers import MSG_NO_USER
from jobs.api.views import jobs as jobs_api
from jobs.documents import job_to_document
from jobs.models import Job, JobParameter, JobRun, JobVersion, Secret
from jobs.selectors import job_script_block
from jobs.services.grants import job_rights_set
from jobs.services.jobs import MSG_SECRETS_PERMISSION
from jobs.services.parameters import MSG_REQUIRED, MSG_UNKNOWN
from jobs.services.runs import MSG_NOT_RUNNABLE
from jobs.services.secrets import secret_save
from jobs.tests.factories import JobFactory

# "now" is pinned to 2026-03-01 00:00 UTC for every test here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

LIST = "/api/jobs"
DAILY_9 = {"type": "daily", "time": "09:00"}
HOURLY = {"type": "hourly", "minute": 5}
DOCUMENT = {
    "name": "nightly-export",
    "script": "ok.py",
    "timezone": "Asia/Hong_Kong",
    "schedules": [DAILY_9],
}
MAX_BIGINT = 2**63 - 1


def detail(job: Job | int) -> str:
    """Return the detail URL of a job (or of an id)."""
    return f"{LIST}/{job if isinstance(job, int) else job.pk}"


def forbidden(action: str) -> dict[str, str]:
    """Return the body of a 403 refusing `action`."""
    return {"detail": MSG_FORBIDDEN.format(action=action)}


@pytest.fixture
def users(make_user: Callable[..., User]) -> dict[str, User]:
    """Return one user per role, the Editor "owner" owning the job fixture."""
    return {
        "admin": make_user("ada", ADMIN),
        "owner": make_user("olive", EDITOR),
        "editor": make_user("ed", EDITOR),
        "viewer": make_user("vic", VIEWER),
        "grantee": make_user("gus"),
    }


@pytest.fixture
def save_job(scripts_dir: Any, now: datetime) -> Callable[..., Job]:
    """Return a function saving a daily job through the service."""

    def save(name: str, *, schedules: Any = None, **fields: Any) -> Job:
        fields.setdefault("timezone", "Asia/Hong_Kong")
        return JobFactory.create(
            name=name, schedules=schedules or [DAILY_9], now=now, **fields
        )

    return save


@pytest.fixture
def job(save_job: Callable[..., Job], users: dict[str, User], now: datetime) -> Job:
    """Return a job owned by the Editor "owner"; "grantee" may view and run it."""
    job = save_job("nightly", owner=users["owner"])
    job_rights_set(
        job=job,
        grantee=users["grantee"],
        rights=["view_job", "run_job"],
        actor=None,
        now=now,
    )
    return job


def client_for(user: User | None) -> APIClient:
    """Return an API client signed in as `user` (anonymous for None)."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def events(action: str) -> list[AuditEvent]:
    """Return the audit events of `action` on jobs, oldest first."""
    return list(
        AuditEvent.objects.filter(action=action, target_type="jobs.job").order_by("pk")
    )


def add_run(job: Job, status: str, now: datetime) -> JobRun:
    """Store a run of `job` for slot `now` with `status`."""
    return JobRun.objects.create(
        job=job, scheduled_for=now, status=status, queued_at=now, not_before=now
    )


# --- list ---------------------------------------------------------------------


def test_list_shows_each_job_as_its_document_with_read_only_facts(
    job: Job, users: dict[str, User]
) -> None:
    """A job is its import/export document plus id, owner, next run, last run."""
    response = client_for(users["viewer"]).get(LIST)

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": job.pk,
                **job_to_document(job),
                "owner": "olive",
                "next_run_at": "2026-03-01T01:00:00Z",
                "schedule_error": "",
                "last_status": None,
                "last_run_id": None,
            }
        ],
    }


def test_list_shows_a_user_without_role_only_the_jobs_granted(
    job: Job, save_job: Callable[..., Job], users: dict[str, User]
) -> None:
    """Per-job grants decide what a user without a role sees."""
    save_job("secret-job")

    response = client_for(users["grantee"]).get(LIST)

    assert [row["name"] for row in response.json()["results"]] == ["nightly"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", LIST),
        ("post", LIST),
        ("get", "/api/jobs/1"),
        ("put", "/api/jobs/1"),
        ("patch", "/api/jobs/1"),
        ("delete", "/api/jobs/1"),
        ("post", "/api/jobs/1/run"),
        ("patch", "/api/jobs/1/activate"),
        ("patch", "/api/jobs/1/deactivate"),
    ],
)
def test_anonymous_is_refused_everywhere(job: Job, method: str, path: str) -> None:
    """Without authentication every jobs endpoint answers 401 or 403."""
    response = getattr(client_for(None), method)(path, {}, format="json")

    assert response.status_code in (401, 403)
    assert set(response.json()) == {"detail"}
    assert Job.objects.filter(pk=job.pk, is_active=True).exists() is True


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("active=true", ["alpha", "gamma"]),
        ("active=false", ["beta"]),
        ("schedule_type=hourly", ["beta"]),
        ("schedule_type=daily", ["alpha", "gamma"]),
        ("owner=olive", ["alpha", "beta"]),
        ("owner=nobody", []),
        ("last_status=failed", ["gamma"]),
        ("last_status=never", ["alpha", "beta"]),
        ("name=AMM", ["gamma"]),
        ("search=ph", ["alpha"]),
        ("ordering=-name", ["gamma", "beta", "alpha"]),
        ("ordering=-name,", ["gamma", "beta", "alpha"]),
        ("ordering=,", ["alpha", "beta", "gamma"]),
        ("ordering=-priority,name", ["alpha", "gamma", "beta"]),
        ("active=true&ordering=-next_run_at", ["gamma", "alpha"]),
    ],
)
def test_list_filters_and_orders(
    save_job: Callable[..., Job],
    users: dict[str, User],
    now: datetime,
    query: str,
    expected: list[str],
) -> None:
    """Filters by active, schedule type, owner, last status and name; orders."""
    save_job("alpha", owner=users["owner"], priority=1)
    save_job("beta", owner=users["owner"], schedules=[HOURLY], is_active=False)
    gamma = save_job(
        "gamma", priority=1, schedules=[{"type": "daily", "time": "23:00"}]
    )
    add_run(gamma, JobRun.Status.FAILED, now)

    response = client_for(users["viewer"]).get(f"{LIST}?{query}")

    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == expected


def test_list_shows_the_latest_runs_status_and_id(
    job: Job, users: dict[str, User], now: datetime
) -> None:
    """last_status and last_run_id come from the latest run."""
    run = add_run(job, JobRun.Status.SUCCEEDED, now)

    row = client_for(users["viewer"]).get(LIST).json()["results"][0]

    assert (row["last_status"], row["last_run_id"]) == ("succeeded", run.pk)


def test_list_paginates(save_job: Callable[..., Job], users: dict[str, User]) -> None:
    """?page and ?page_size page through the jobs by name."""
    for name in ("a", "b", "c"):
        save_job(name)

    response = client_for(users["viewer"]).get(f"{LIST}?page=2&page_size=2")

    body = response.json()
    assert (body["count"], [row["name"] for row in body["results"]]) == (3, ["c"])
    assert body["previous"] == "http://testserver/api/jobs?page_size=2"


@pytest.mark.parametrize(
    ("query", "parameter", "message"),
    [
        ("active=maybe", "active", MSG_BOOLEAN),
        (
            "schedule_type=sometimes",
            "schedule_type",
            "Select a valid choice. sometimes is not one of the available choices.",
        ),
        (
            "last_status=nonsense",
            "last_status",
            "Select a valid choice. nonsense is not one of the available choices.",
        ),
        (
            "ordering=script",
            "ordering",
            "Select a valid choice. script is not one of the available choices.",
        ),
        ("name=a%00b", "name", "Null characters are not allowed."),
    ],
)
def test_list_refuses_a_bad_filter_value_naming_the_parameter(
    job: Job, users: dict[str, User], query: str, parameter: str, message: str
) -> None:
    """A value a filter cannot read is a 400, not silently ignored."""
    response = client_for(users["viewer"]).get(f"{LIST}?{query}")

    assert response.status_code == 400
    assert response.json() == {parameter: [message]}


def test_list_costs_the_same_queries_for_1_and_20_jobs(
    save_job: Callable[..., Job],
    users: dict[str, User],
    now: datetime,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    """Owner, schedules, secrets and last run load without a query per job."""
    secret = secret_save(secret=Secret(name="API_TOKEN"), value="s3cret", now=now)
    client = client_for(users["admin"])

    def add_job(name: str) -> None:
        saved = save_job(name, owner=users["owner"])
        saved.secrets.set([secret])
        add_run(saved, JobRun.Status.FAILED, now)

    add_job("job-0")
    client.get(LIST)  # warms the user's permission cache
    with CaptureQueriesContext(connection) as one:
        assert client.get(LIST).json()["count"] == 1
    for number in range(1, 20):
        add_job(f"job-{number}")

    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(LIST).json()["count"] == 20


# --- create -------------------------------------------------------------------


def test_editor_creates_a_job_and_owns_it(
    users: dict[str, User], scripts_dir: Any
) -> None:
    """201 with the document; the creator owns it; audited and versioned."""
    response = client_for(users["editor"]).post(LIST, DOCUMENT, format="json")

    assert response.status_code == 201
    created = Job.objects.get(name="nightly-export")
    assert response.json() == {
        "id": created.pk,
        **job_to_document(created),
        "owner": "ed",
        "next_run_at": "2026-03-01T01:00:00Z",
        "schedule_error": "",
        "last_status": None,
        "last_run_id": None,
    }
    assert created.owner == users["editor"]
    [event] = events(AuditEvent.Action.CREATE)
    assert (event.actor, event.target_id, event.ip) == (
        users["editor"],
        str(created.pk),
        "127.0.0.1",
    )
    assert list(
        JobVersion.objects.filter(job=created).values_list("number", "author")
    ) == [(1, users["editor"].pk)]


@pytest.mark.parametrize("role", ["viewer", "grantee"])
def test_create_takes_the_right_to_add_jobs(
    users: dict[str, User], scripts_dir: Any, role: str
) -> None:
    """A Viewer, or a user without a role, may not create jobs."""
    response = client_for(users[role]).post(LIST, DOCUMENT, format="json")

    assert response.status_code == 403
    assert response.json() == forbidden(jobs_api.ACTION_CREATE)
    assert Job.objects.exists() is False


def test_create_refuses_unknown_fields_naming_them(
    users: dict[str, User], scripts_dir: Any
) -> None:
    """A typo is a 400 naming the key, not a silent default."""
    body = {**DOCUMENT, "max_atempts": 3}

    response = client_for(users["editor"]).post(LIST, body, format="json")

    assert response.status_code == 400
    [message] = response.json()["non_field_errors"]
    assert message.startswith(
        MSG_UNKNOWN_FIELDS.format(unknown="max_atempts", known="")[:-1]
    )


@pytest.mark.parametrize("body", ["[]", '"job"', "null", "42", "true"])
def test_create_refuses_a_body_that_is_not_an_object(
    users: dict[str, User], body: str
) -> None:
    """A list, a string, null or a number is a 400, never a 500."""
    response = client_for(users["editor"]).post(
        LIST, body, content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]


def test_create_refuses_json_nested_too_deeply(users: dict[str, User]) -> None:
    """A body too deep for the decoder is a 400, not a RecursionError."""
    body = '{"env": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = client_for(users["editor"]).post(
        LIST, body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"detail": MSG_TOO_DEEP}


def test_create_refuses_malformed_json_and_other_media_types(
    users: dict[str, User],
) -> None:
    """Broken JSON is a 400 and a form-encoded body a 415."""
    client = client_for(users["editor"])

    broken = client.post(LIST, "{", content_type="application/json")
    form = client.post(LIST, {"name": "x"})

    assert (broken.status_code, form.status_code) == (400, 415)


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"schedules": [{"type": "daily", "time": "25:00"}]}, "schedules"),
        ({"schedules": []}, "schedules"),
        ({"retry": {"max_attempts": 0}}, "retry"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"env": {"X": "a\x00b"}}, "env"),
        ({"name": ""}, "name"),
        ({"priority": 2**70}, "priority"),
        ({"secrets": ["NOPE"]}, "secrets"),
    ],
)
def test_create_refuses_invalid_documents_with_field_messages(
    users: dict[str, User], scripts_dir: Any, change: dict[str, Any], errors: str
) -> None:
    """Invalid values answer 400 keyed by the document's field."""
    response = client_for(users["editor"]).post(
        LIST, {**DOCUMENT, **change}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == [errors]
    assert Job.objects.exists() is False


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("args", '["a\\u0000"]'),
        ("args", '["\\ud800"]'),
        ("env", '{"X": "\\udfff"}'),
        ("schedules", '[{"type": "manual", "timezone": "\\u0000"}]'),
        ("script", '"ok.py\\u0000"'),
        ("working_dir", '"nested\\u0000"'),
        ("timezone", '"UTC\\u0000"'),
        ("description", '"\\udc80"'),
        ("owner", '"erin\\u0000"'),
        ("owner", '"\\ud800"'),
        ("secrets", '["API_TOKEN\\u0000"]'),
        ("secrets", '["\\udfff"]'),
    ],
)
def test_create_refuses_text_that_cannot_be_stored(
    users: dict[str, User], scripts_dir: Any, key: str, text: str
) -> None:
    """NUL characters and lone surrogates answer 400 (PostgreSQL would fail)."""
    body = json.dumps({k: v for k, v in DOCUMENT.items() if k != key})
    body = body[:-1] + f', "{key}": {text}}}'

    response = client_for(users["editor"]).post(
        LIST, body, content_type="application/json"
    )

    assert response.json() == {key: [MSG_UNSTORABLE_TEXT]}


def test_create_refuses_a_duplicate_name(
    job: Job, users: dict[str, User], scripts_dir: Any
) -> None:
    """Names are unique: 400 on "name"."""
    body = {**DOCUMENT, "name": "nightly"}

    response = client_for(users["editor"]).post(LIST, body, format="json")

    assert response.json() == {"name": ["job with this name already exists."]}


def test_editor_may_not_give_a_job_secrets(
    users: dict[str, User], scripts_dir: Any, now: datetime
) -> None:
    """Choosing secrets takes the right to change secrets (job_save's rule)."""
    secret_save(secret=Secret(name="API_TOKEN"), value="s3cret", now=now)
    body = {**DOCUMENT, "secrets": ["API_TOKEN"]}

    response = client_for(users["editor"]).post(LIST, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"secrets": [MSG_SECRETS_PERMISSION]}
    assert Job.objects.exists() is False


def test_admin_gives_a_job_secrets(
    users: dict[str, User], scripts_dir: Any, now: datetime
) -> None:
    """An Admin may choose a job's secrets; the document names them."""
    secret_save(secret=Secret(name="API_TOKEN"), value="s3cret", now=now)
    body = {**DOCUMENT, "secrets": ["API_TOKEN"]}

    response = client_for(users["admin"]).post(LIST, body, format="json")

    assert response.status_code == 201
    assert response.json()["secrets"] == ["API_TOKEN"]


def test_editor_may_not_create_a_job_for_someone_else(
    users: dict[str, User], scripts_dir: Any
) -> None:
    """Naming another owner takes the right to hand out rights (Admin)."""
    body = {**DOCUMENT, "owner": "vic"}

    response = client_for(users["editor"]).post(LIST, body, format="json")

    assert response.status_code == 403
    assert response.json() == forbidden(jobs_api.ACTION_CHANGE_OWNER)


def test_admin_creates_a_job_for_someone_else(
    users: dict[str, User], scripts_dir: Any
) -> None:
    """An Admin may name the owner of a new job."""
    body = {**DOCUMENT, "owner": "olive"}

    response = client_for(users["admin"]).post(LIST, body, format="json")

    assert response.json()["owner"] == "olive"
    assert Job.objects.get().owner == users["owner"]


def test_create_refuses_an_unknown_owner(
    users: dict[str, User], scripts_dir: Any
) -> None:
    """The owner is a user name that exists."""
    body = {**DOCUMENT, "owner": "ghost"}

    response = client_for(users["admin"]).post(LIST, body, format="json")

    assert response.json() == {"owner": [MSG_NO_USER.format(value="ghost")]}


# --- retrieve -----------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "owner", "editor", "viewer", "grantee"])
def test_every_role_that_sees_the_job_reads_it(
    job: Job, users: dict[str, User], role: str
) -> None:
    """Roles see every job; the grantee sees the job granted."""
    response = client_for(users[role]).get(detail(job))

    assert response.status_code == 200
    assert response.json()["name"] == "nightly"


def test_a_job_the_user_may_not_see_is_a_404(
    save_job: Callable[..., Job], users: dict[str, User]
) -> None:
    """Not granted means not found, as in the admin."""
    hidden = save_job("hidden")

    response = client_for(users["grantee"]).get(detail(hidden))

    assert response.status_code == 404
    assert response.json() == {"detail": "No Job matches the given query."}


@pytest.mark.parametrize("job_id", [str(MAX_BIGINT + 1), "9" * 20, "9" * 5000, "0"])
@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("put", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "/run"),
        ("patch", "/activate"),
    ],
)
def test_ids_that_cannot_exist_are_404(
    job: Job, users: dict[str, User], job_id: str, method: str, suffix: str
) -> None:
    """Huge ids are a 404, never an overflow (500)."""
    client = client_for(users["admin"])

    response = getattr(client, method)(f"{LIST}/{job_id}{suffix}", {}, format="json")

    assert response.status_code == 404


@pytest.mark.parametrize("job_id", [str(MAX_BIGINT + 1), "9" * 5000])
def test_options_on_an_id_that_cannot_exist_offers_no_actions(
    job: Job, users: dict[str, User], job_id: str
) -> None:
    """DRF's OPTIONS metadata looks the job up too: no overflow there either."""
    response = client_for(users["admin"]).options(f"{LIST}/{job_id}")

    assert response.status_code == 200
    assert "actions" not in response.json()


def test_options_describes_the_job_fields(job: Job, users: dict[str, User]) -> None:
    """OPTIONS on a job names what PUT takes."""
    response = client_for(users["owner"]).options(detail(job))

    assert response.status_code == 200
    assert "schedules" in response.json()["actions"]["PUT"]


def test_leading_zeros_name_the_same_job(job: Job, users: dict[str, User]) -> None:
    """An id is a number: /api/jobs/007 is job 7."""
    response = client_for(users["admin"]).get(f"{LIST}/{'0' * 30}{job.pk}")

    assert response.json()["id"] == job.pk


def test_detail_ignores_the_list_filters(job: Job, users: dict[str, User]) -> None:
    """Query parameters of the list do not hide or refuse a job's detail."""
    response = client_for(users["admin"]).get(f"{detail(job)}?active=false")

    assert response.status_code == 200


# --- update -------------------------------------------------------------------


def test_owner_replaces_the_document_with_put(job: Job, users: dict[str, User]) -> None:
    """PUT sets the whole document; keys left out take their defaults."""
    Job.objects.filter(pk=job.pk).update(priority=5, description="old")
    body = {**DOCUMENT, "name": "nightly", "schedules": [HOURLY]}

    response = client_for(users["owner"]).put(detail(job), body, format="json")

    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.priority, job.description, job.schedule_documents()) == (
        0,
        "",
        [HOURLY],
    )
    assert response.json()["schedules"] == [HOURLY]
    [event] = events(AuditEvent.Action.UPDATE)
    assert (event.actor, event.ip) == (users["owner"], "127.0.0.1")
    assert event.changes == {
        "description": ["old", ""],
        "priority": [5, 0],
        "schedules[0].type": ["daily", "hourly"],
        "schedules[0].time": ["09:00", None],
        "schedules[0].minute": [None, 5],
    }
    assert JobVersion.objects.filter(job=job).count() == 2


def test_put_needs_schedules(job: Job, users: dict[str, User]) -> None:
    """A whole document has schedules."""
    body = {"name": "nightly", "script": "ok.py"}

    response = client_for(users["owner"]).put(detail(job), body, format="json")

    assert response.json() == {"schedules": ["This field is required."]}


def test_patch_changes_only_the_keys_given(job: Job, users: dict[str, User]) -> None:
    """PATCH keeps the rest: schedules, secrets, the other fields."""
    body = {"description": "Exports at night.", "retry": {"max_attempts": 3}}

    response = client_for(users["owner"]).patch(detail(job), body, format="json")

    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.description, job.retry_max_attempts, job.schedule_documents()) == (
        "Exports at night.",
        3,
        [DAILY_9],
    )
    [event] = events(AuditEvent.Action.UPDATE)
    assert event.changes == {
        "description": ["", "Exports at night."],
        "retry.max_attempts": [1, 3],
    }


def test_what_get_answers_can_be_put_back_unchanged(
    job: Job, users: dict[str, User]
) -> None:
    """Read-only keys sent back are ignored; an unchanged job records nothing."""
    client = client_for(users["owner"])
    document = client.get(detail(job)).json()

    response = client.put(detail(job), document, format="json")

    assert response.json() == document
    assert events(AuditEvent.Action.UPDATE) == []
    assert JobVersion.objects.filter(job=job).count() == 1


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("role", ["editor", "viewer", "grantee"])
def test_change_takes_the_right_to_change_the_job(
    job: Job, users: dict[str, User], role: str, method: str
) -> None:
    """Editor non-owner, Viewer and a run-only grantee are refused (403)."""
    body = {**DOCUMENT, "name": "nightly"}

    response = getattr(client_for(users[role]), method)(
        detail(job), body, format="json"
    )

    assert response.status_code == 403
    assert response.json() == forbidden(jobs_api.ACTION_CHANGE)


def test_a_change_grant_lets_a_user_without_role_change_the_job(
    job: Job, users: dict[str, User], now: datetime
) -> None:
    """Per-job change rights are the admin's: they work here too."""
    job_rights_set(
        job=job,
        grantee=users["grantee"],
        rights=["view_job", "change_job"],
        actor=None,
        now=now,
    )

    response = client_for(users["grantee"]).patch(
        detail(job), {"priority": 3}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["priority"] == 3


def test_owner_may_not_give_the_job_away(job: Job, users: dict[str, User]) -> None:
    """Changing the owner takes the Admin's right; the job is left alone."""
    response = client_for(users["owner"]).patch(
        detail(job), {"owner": "ed"}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == forbidden(jobs_api.ACTION_CHANGE_OWNER)
    job.refresh_from_db()
    assert job.owner == users["owner"]


def test_admin_changes_the_owner_and_it_is_audited(
    job: Job, users: dict[str, User]
) -> None:
    """The owner change appears in the update event."""
    response = client_for(users["admin"]).patch(
        detail(job), {"owner": "ed"}, format="json"
    )

    assert response.json()["owner"] == "ed"
    [event] = events(AuditEvent.Action.UPDATE)
    assert event.changes == {"owner": ["olive", "ed"]}


def test_put_without_secrets_takes_them_away_only_for_those_who_may(
    job: Job, users: dict[str, User], now: datetime
) -> None:
    """A whole document without secrets means none: an Editor may not."""
    secret = secret_save(secret=Secret(name="API_TOKEN"), value="s3cret", now=now)
    job.secrets.set([secret])
    body = {**DOCUMENT, "name": "nightly"}

    response = client_for(users["owner"]).put(detail(job), body, format="json")

    assert response.json() == {"secrets": [MSG_SECRETS_PERMISSION]}
    assert list(job.secrets.values_list("name", flat=True)) == ["API_TOKEN"]


@pytest.mark.parametrize("body", ["[]", '"x"', "null"])
def test_patch_refuses_a_body_that_is_not_an_object(
    job: Job, users: dict[str, User], body: str
) -> None:
    """Not an object: 400."""
    response = client_for(users["owner"]).patch(
        detail(job), body, content_type="application/json"
    )

    assert response.status_code == 400


# --- delete -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_delete_removes_the_job_and_is_audited(
    job: Job, users: dict[str, User], role: str
) -> None:
    """204; the job is gone and the deletion is recorded with its actor."""
    response = client_for(users[role]).delete(detail(job))

    assert response.status_code == 204
    assert Job.objects.filter(pk=job.pk).exists() is False
    [event] = events(AuditEvent.Action.DELETE)
    assert (event.actor, event.target_id) == (users[role], str(job.pk))


@pytest.mark.parametrize("role", ["editor", "viewer", "grantee"])
def test_delete_takes_the_right_to_delete(
    job: Job, users: dict[str, User], role: str
) -> None:
    """Others are refused and the job stays."""
    response = client_for(users[role]).delete(detail(job))

    assert response.status_code == 403
    assert response.json() == forbidden(jobs_api.ACTION_DELETE)
    assert Job.objects.filter(pk=job.pk).exists() is True


# --- run ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "owner", "grantee"])
def test_run_queues_an_api_run(
    job: Job, users: dict[str, User], now: datetime, role: str
) -> None:
    """202 with the run; trigger API, asked for by the user, audited."""
    response = client_for(users[role]).post(f"{detail(job)}/run")

    assert response.status_code == 202
    run = JobRun.objects.get(job=job)
    assert response.json() == {
        "id": run.pk,
        "job": job.pk,
        "status": "queued",
        "parameters": {},
        "url": f"/api/logs/{run.pk}",
    }
    assert response["Location"] == f"/api/logs/{run.pk}"
    assert (run.trigger, run.triggered_by, run.scheduled_for) == (
        JobRun.Trigger.API,
        users[role],
        now,
    )
    [event] = events(AuditEvent.Action.RUN)
    assert (event.actor, event.ip, event.changes["run"]) == (
        users[role],
        "127.0.0.1",
        [None, run.pk],
    )


@pytest.mark.usefixtures("require_approval")
def test_run_refuses_a_job_whose_script_is_not_runnable(
    job: Job, users: dict[str, User]
) -> None:
    """400 naming why the script may not run; nothing queued, nothing audited."""
    response = client_for(users["admin"]).post(f"{detail(job)}/run")

    block = job_script_block(job=job)
    assert block is not None
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [MSG_NOT_RUNNABLE.format(reason=block.reason)]
    }
    assert JobRun.objects.filter(job=job).exists() is False
    assert events(AuditEvent.Action.RUN) == []


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_run_takes_the_right_to_run(
    job: Job, users: dict[str, User], role: str
) -> None:
    """Editor non-owner and Viewer may not run the job."""
    response = client_for(users[role]).post(f"{detail(job)}/run")

    assert response.status_code == 403
    assert response.json() == forbidden(jobs_api.ACTION_RUN)
    assert JobRun.objects.exists() is False


@pytest.fixture
def region(job: Job) -> JobParameter:
    """Give the job a required choice parameter "region" and an integer "days"."""
    JobParameter.objects.create(job=job, name="days", type="integer", default="7")
    return JobParameter.objects.create(
        job=job,
        name="region",
        type="choice",
        choices=["apac", "emea"],
        is_required=True,
    )


def test_run_validates_parameters_and_fills_defaults(
    job: Job, region: JobParameter, users: dict[str, User]
) -> None:
    """Values are read as their types; a missing optional takes its default."""
    response = client_for(users["owner"]).post(
        f"{detail(job)}/run", {"parameters": {"region": "apac"}}, format="json"
    )

    assert response.status_code == 202
    assert JobRun.objects.get().parameters == {"region": "apac", "days": 7}


@pytest.mark.parametrize(
    ("parameters", "errors"),
    [
        ({}, {"region": [MSG_REQUIRED]}),
        (
            {"region": "apac", "colour": "red"},
            {"colour": [MSG_UNKNOWN.format(name="colour", known="days, region")]},
        ),
    ],
)
def test_run_refuses_bad_parameters_with_field_messages(
    job: Job,
    region: JobParameter,
    users: dict[str, User],
    parameters: dict[str, Any],
    errors: dict[str, list[str]],
) -> None:
    """400 keyed by parameter under "parameters"; nothing is queued."""
    response = client_for(users["owner"]).post(
        f"{detail(job)}/run", {"parameters": parameters}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"parameters": errors}
    assert JobRun.objects.exists() is False


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"params": {}}, "non_field_errors"),
        ({"parameters": ["apac"]}, "parameters"),
        ({"parameters": {"region": "a\x00"}}, "parameters"),
        ([], "non_field_errors"),
    ],
)
def test_run_refuses_a_bad_body(
    job: Job, users: dict[str, User], body: Any, key: str
) -> None:
    """Unknown keys, a non-object body or bad parameters: 400."""
    response = client_for(users["owner"]).post(
        f"{detail(job)}/run", body, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == [key]


# --- activate / deactivate ----------------------------------------------------


def test_owner_deactivates_and_activates_the_job(
    job: Job, users: dict[str, User]
) -> None:
    """Each is audited and versioned; the next run follows."""
    client = client_for(users["owner"])

    off = client.patch(f"{detail(job)}/deactivate")
    on = client.patch(f"{detail(job)}/activate")

    assert (off.status_code, off.json()["active"], off.json()["next_run_at"]) == (
        200,
        False,
        None,
    )
    assert (on.json()["active"], on.json()["next_run_at"]) == (
        True,
        "2026-03-01T01:00:00Z",
    )
    [event] = events(AuditEvent.Action.DEACTIVATE)
    assert (event.actor, event.changes) == (users["owner"], {"active": [True, False]})
    assert len(events(AuditEvent.Action.ACTIVATE)) == 1
    assert JobVersion.objects.filter(job=job).count() == 3


@pytest.mark.parametrize("role", ["editor", "viewer", "grantee"])
@pytest.mark.parametrize("verb", ["activate", "deactivate"])
def test_activation_takes_the_right_to_change(
    job: Job, users: dict[str, User], role: str, verb: str
) -> None:
    """Others are refused (403) and the job is unchanged."""
    response = client_for(users[role]).patch(f"{detail(job)}/{verb}")

    assert response.status_code == 403
    assert response.json() == forbidden(jobs_api.ACTION_ACTIVATE)
    job.refresh_from_db()
    assert job.is_active is True


def test_activation_refuses_a_body_with_fields(
    job: Job, users: dict[str, User]
) -> None:
    """The action takes no fields."""
    response = client_for(users["owner"]).patch(
        f"{detail(job)}/deactivate", {"active": False}, format="json"
    )

    assert response.json() == {
        "non_field_errors": [MSG_NO_FIELDS.format(unknown="active")]
    }


def test_activation_is_a_patch(job: Job, users: dict[str, User]) -> None:
    """Other methods are not allowed."""
    response = client_for(users["owner"]).post(f"{detail(job)}/activate")

    assert response.status_code == 405


# --- schema -------------------------------------------------------------------


def test_schema_documents_the_jobs_endpoints() -> None:
    """Bodies, responses and query parameters are in /api/schema/."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]

    list_parameters = {p["name"] for p in paths["/api/jobs"]["get"]["parameters"]}
    run = paths["/api/jobs/{id}/run"]["post"]
    assert {"active", "schedule_type", "owner", "last_status", "name", "search"} <= (
        list_parameters
    )
    assert {"ordering", "page", "page_size"} <= list_parameters
    assert set(run["responses"]) == {"202", "400", "401", "403", "404", "415"}
    assert "requestBody" not in paths["/api/jobs/{id}/activate"]["patch"]
    assert set(paths["/api/jobs/{id}"]) == {"get", "put", "patch", "delete"}
