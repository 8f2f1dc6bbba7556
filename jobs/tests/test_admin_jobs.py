"""The job admin: list, schedule rows edited as fields, actions, preview."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape, strip_tags

from accounts.tests.factories import UserFactory
from jobportal.tests.clocks import FrozenClock
from jobs.admin.display import count_jobs
from jobs.admin.jobs import MSG_ACTIVATED, MSG_DEACTIVATED, MSG_RUNS_QUEUED
from jobs.forms import MSG_BAD_JSON
from jobs.models import Job, JobRun, Schedule
from jobs.schedule import (
    MSG_CRON_FIELD,
    MSG_REQUIRED,
    MSG_TIME,
    MSG_TIMEZONE,
)
from jobs.schedule_text import describe_schedules
from jobs.services.jobs import MSG_NO_SCHEDULES
from jobs.tests.factories import JobFactory, JobRunFactory
from jobs.validators import MSG_ENV

# "now" is pinned to 2026-03-01 00:00 UTC for every test here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

CHANGELIST = "admin:jobs_job_changelist"
ADD = "admin:jobs_job_add"
PREVIEW = "admin:jobs_job_preview_schedule"
DAILY_0900 = {"type": "daily", "time": "09:00"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Hash the test users' passwords cheaply (PBKDF2 costs ~0.5 s a user)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_user_client(
    scripts_dir: Path, admin_client: Client, admin_user: User
) -> Client:
    """Return a superuser's client, with the example scripts in place."""
    return admin_client


def make_job(
    now: datetime,
    name: str = "report",
    schedules: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Job:
    """Save a job through the service (Hong Kong, daily 09:00 by default)."""
    fields.setdefault("timezone", "Asia/Hong_Kong")
    return JobFactory.create(
        name=name, schedules=schedules or [DAILY_0900], now=now, **fields
    )


def make_run(job: Job, at: datetime, status: str, **fields: Any) -> JobRun:
    """Record a run of `job` for slot `at`."""
    # Not started unless told: the factory's default run has finished.
    unstarted = {"started_at": None, "finished_at": None, "exit_code": None}
    return JobRunFactory.create(
        job=job,
        scheduled_for=at,
        status=status,
        queued_at=at,
        not_before=at,
        **{**unstarted, **fields},
    )


def job_form_data(**overrides: str | Sequence[str]) -> dict[str, Any]:
    """Return the add form's POST data: one daily 09:00 row built from fields."""
    data: dict[str, Any] = {
        "name": "report",
        "description": "",
        "script": "ok.py",
        "args": "[]",
        "env": "{}",
        "working_dir": "",
        "timezone": "Asia/Hong_Kong",
        "is_active": "on",
        "owner": "",
        "priority": "0",
        "timeout_seconds": "",
        "retry_max_attempts": "1",
        "retry_delay_seconds": "60",
        "retry_backoff": "fixed",
        "retry_max_delay_seconds": "3600",
        "retry_exit_codes": "[]",
        "retry_on_lost": "on",
        "retry_max_total_seconds": "",
        "concurrency_policy": "forbid",
        "max_concurrent": "1",
        "misfire_policy": "run_once",
        "blackout_action": "skip",
        "misfire_grace_seconds": "60",
        "dependency_mode": "all_success",
        "schedules-TOTAL_FORMS": "1",
        "schedules-INITIAL_FORMS": "0",
        "schedules-MIN_NUM_FORMS": "1",
        "schedules-MAX_NUM_FORMS": "1000",
        "schedules-0-type": "daily",
        "schedules-0-time": "09:00",
        # The run parameter rows (none).
        "parameters-TOTAL_FORMS": "0",
        "parameters-INITIAL_FORMS": "0",
        "parameters-MIN_NUM_FORMS": "0",
        "parameters-MAX_NUM_FORMS": "1000",
        # The dependency rows (none).
        "dependencies-TOTAL_FORMS": "0",
        "dependencies-INITIAL_FORMS": "0",
        "dependencies-MIN_NUM_FORMS": "0",
        "dependencies-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def change_form_data(job: Job, **overrides: str | list[str]) -> dict[str, Any]:
    """Return the change form's POST data for a job with one saved schedule."""
    schedule = job.schedules.get()
    data = job_form_data(
        name=job.name,
        timezone=job.timezone,
        **{
            "schedules-INITIAL_FORMS": "1",
            "schedules-0-id": str(schedule.pk),
            "schedules-0-job": str(job.pk),
        },
    )
    data.update(overrides)
    return data


def schedule_errors(response: Any, row: int = 0) -> dict[str, list[str]]:
    """Return the errors of one schedule row of a re-rendered form."""
    formset = response.context["inline_admin_formsets"][0].formset
    return formset.forms[row].errors


# --- list --------------------------------------------------------------------


def test_list_shows_schedule_in_words_next_run_in_both_zones_and_last_status(
    admin_user_client: Client, now: datetime
) -> None:
    """One row: 'Daily at 09:00 (Asia/Hong_Kong)', HKT and UTC, a Failed badge."""
    job = make_job(now)
    run = make_run(job, datetime(2026, 2, 28, 1, tzinfo=UTC), JobRun.Status.FAILED)

    response = admin_user_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    text = response.content.decode()
    assert escape(describe_schedules([DAILY_0900], timezone="Asia/Hong_Kong")) in text
    assert "Daily at 09:00" in text
    assert "2026-03-01 09:00 HKT / 01:00 UTC" in strip_tags(text)
    run_url = reverse("admin:jobs_jobrun_change", args=[run.pk])
    assert (
        f'<a href="{run_url}"><span class="jobs-status jobs-status-failed">'
        "Failed</span></a>"
    ) in text


def test_list_puts_the_utc_date_when_it_differs_from_the_local_one(
    admin_user_client: Client, now: datetime
) -> None:
    """05:00 in Hong Kong is 21:00 UTC the day before."""
    make_job(now, schedules=[{"type": "daily", "time": "05:00"}])

    response = admin_user_client.get(reverse(CHANGELIST))

    text = strip_tags(response.content.decode())
    assert "2026-03-02 05:00 HKT / 2026-03-01 21:00 UTC" in text


def test_latest_run_is_the_latest_slot_and_attempt(
    admin_user_client: Client, now: datetime
) -> None:
    """A retry (attempt 2) of the newest slot is the job's last run."""
    job = make_job(now)
    slot = datetime(2026, 2, 28, 1, tzinfo=UTC)
    make_run(job, datetime(2026, 2, 27, 1, tzinfo=UTC), JobRun.Status.SUCCEEDED)
    make_run(job, slot, JobRun.Status.FAILED)
    make_run(job, slot, JobRun.Status.RUNNING, attempt=2)

    response = admin_user_client.get(reverse(CHANGELIST))

    assert "jobs-status-running" in response.content.decode()
    assert "jobs-status-failed" not in response.content.decode()


def count_list_queries(client: Client) -> int:
    """Return how many queries the job list takes."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    return len(queries)


def test_list_queries_do_not_grow_with_the_number_of_jobs(
    admin_user_client: Client,
    now: datetime,
    django_assert_max_num_queries: Any,
) -> None:
    """1 job or 30 (two schedules and two runs each): the same query count."""
    schedules = [DAILY_0900, {"type": "cron", "expression": "*/15 * * * *"}]

    def add_job(index: int) -> None:
        job = make_job(now, name=f"job-{index:02d}", schedules=schedules)
        make_run(job, datetime(2026, 2, 27, tzinfo=UTC), JobRun.Status.SUCCEEDED)
        make_run(job, datetime(2026, 2, 28, tzinfo=UTC), JobRun.Status.FAILED)

    add_job(0)
    with_one = count_list_queries(admin_user_client)
    for index in range(1, 30):
        add_job(index)

    with django_assert_max_num_queries(with_one):
        response = admin_user_client.get(reverse(CHANGELIST))
    assert response.content.decode().count("jobs-status-failed") == 30


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("last_status=failed", ["broken"]),
        ("last_status=never", ["fresh"]),
        ("schedule_type=cron", ["fresh"]),
        ("schedule_type=daily", ["broken"]),
        ("timezone=UTC", ["fresh"]),
        ("is_active__exact=1", ["broken", "fresh"]),
        ("q=nightly", ["broken"]),
    ],
)
def test_filters_and_search(
    admin_user_client: Client, now: datetime, query: str, expected: list[str]
) -> None:
    """Last status, schedule type, timezone, active and search narrow the list."""
    broken = make_job(now, name="broken", description="Nightly export")
    make_run(broken, datetime(2026, 2, 28, 1, tzinfo=UTC), JobRun.Status.FAILED)
    make_job(
        now,
        name="fresh",
        schedules=[{"type": "cron", "expression": "0 * * * *"}],
        timezone="UTC",
    )

    response = admin_user_client.get(f"{reverse(CHANGELIST)}?{query}")

    shown = [job.name for job in response.context["cl"].result_list]
    assert shown == expected


# --- adding and changing -------------------------------------------------------


def test_add_daily_job_from_fields_stores_the_document_and_next_run(
    admin_user_client: Client, admin_user: User
) -> None:
    """Daily 09:00 in Hong Kong from the fields: stored as typed, next 01:00 UTC."""
    response = admin_user_client.post(
        reverse(ADD), job_form_data(owner=str(admin_user.pk))
    )

    assert response.status_code == 302
    job = Job.objects.get()
    assert list(job.schedules.values_list("document", flat=True)) == [DAILY_0900]
    assert job.next_run_at == datetime(2026, 3, 1, 1, tzinfo=UTC)
    assert job.owner == admin_user


def test_add_page_offers_the_signed_in_user_as_owner(
    admin_user_client: Client, admin_user: User
) -> None:
    """A new job's owner field starts as the user adding it."""
    response = admin_user_client.get(reverse(ADD))

    assert response.context["adminform"].form.initial["owner"] == admin_user.pk


def test_add_weekly_job_from_checkboxes(admin_user_client: Client) -> None:
    """Weekly: the ticked weekdays and the time make the document."""
    data = job_form_data(
        **{
            "schedules-0-type": "weekly",
            "schedules-0-weekdays": ["wed", "mon"],
            "schedules-0-time": "05:00",
        }
    )

    response = admin_user_client.post(reverse(ADD), data)

    assert response.status_code == 302
    job = Job.objects.get()
    assert job.schedules.get().document == {
        "type": "weekly",
        "weekdays": ["mon", "wed"],
        "time": "05:00",
    }
    # Monday 2026-03-02 05:00 in Hong Kong.
    assert job.next_run_at == datetime(2026, 3, 1, 21, tzinfo=UTC)


def test_fields_of_other_types_are_ignored(admin_user_client: Client) -> None:
    """A leftover time on an hourly row does not reach the document."""
    data = job_form_data(
        **{
            "schedules-0-type": "hourly",
            "schedules-0-minute": "15",
            "schedules-0-time": "09:00",
            "schedules-0-expression": "junk",
        }
    )

    admin_user_client.post(reverse(ADD), data)

    assert Schedule.objects.get().document == {"type": "hourly", "minute": 15}
    assert Job.objects.get().next_run_at == datetime(2026, 3, 1, 0, 15, tzinfo=UTC)


def test_raw_json_wins_over_the_fields(admin_user_client: Client) -> None:
    """Advanced raw JSON, when filled, is the document (normalised)."""
    data = job_form_data(
        **{"schedules-0-raw": '{"type": "monthly", "day": "last", "time": "23:30"}'}
    )

    admin_user_client.post(reverse(ADD), data)

    assert Schedule.objects.get().document == {
        "type": "monthly",
        "day": "last",
        "time": "23:30",
    }


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ({"time": "25:00"}, "time", MSG_TIME.format(value="25:00")),
        (
            {"timezone": "Mars/Olympus"},
            "timezone",
            MSG_TIMEZONE.format(value="Mars/Olympus"),
        ),
        (
            {"type": "cron", "expression": "0 24 * * *"},
            "expression",
            MSG_CRON_FIELD.format(field="hour", value="24", reason="out of range"),
        ),
        ({"type": "weekly"}, "weekdays", MSG_REQUIRED.format(kind="weekly")),
    ],
)
def test_bad_schedule_shows_the_engine_message_on_its_field_and_writes_nothing(
    admin_user_client: Client, row: dict[str, str], field: str, message: str
) -> None:
    """The engine's exact message sits on the field it is about."""
    data = job_form_data(**{f"schedules-0-{k}": v for k, v in row.items()})

    response = admin_user_client.post(reverse(ADD), data)

    assert response.status_code == 200
    assert schedule_errors(response)[field] == [message]
    assert escape(message) in response.content.decode()
    assert Job.objects.count() == 0
    assert Schedule.objects.count() == 0


def test_bad_raw_json_schedule_names_the_field(admin_user_client: Client) -> None:
    """Raw JSON keeps the engine's "field: message" form, on the raw box."""
    data = job_form_data(**{"schedules-0-raw": '{"type": "hourly", "minute": 60}'})

    response = admin_user_client.post(reverse(ADD), data)

    assert schedule_errors(response)["raw"] == [
        "minute: Minute must be from 0 to 59, got 60."
    ]
    assert Job.objects.count() == 0


def test_unparsable_raw_json_is_a_form_error(admin_user_client: Client) -> None:
    """A typo in the raw box is reported where it is, not as a 500."""
    data = job_form_data(**{"schedules-0-raw": '{"type": "daily",}'})

    response = admin_user_client.post(reverse(ADD), data)

    assert response.status_code == 200
    assert schedule_errors(response)["raw"] == [
        MSG_BAD_JSON.format(
            error="Expecting property name enclosed in double quotes",
            line=1,
            column=18,
        )
    ]


def test_unknown_job_timezone_is_refused_on_the_job_field(
    admin_user_client: Client,
) -> None:
    """The job's own zone is validated with the engine's message."""
    response = admin_user_client.post(
        reverse(ADD), job_form_data(timezone="Mars/Olympus")
    )

    assert response.context["adminform"].form.errors["timezone"] == [
        MSG_TIMEZONE.format(value="Mars/Olympus")
    ]
    assert schedule_errors(response) == {}
    assert Job.objects.count() == 0


def test_a_job_without_schedules_is_refused(admin_user_client: Client) -> None:
    """Zero schedule rows: the formset says a job needs one; nothing is written."""
    data = job_form_data(**{"schedules-TOTAL_FORMS": "0"})

    response = admin_user_client.post(reverse(ADD), data)

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.non_form_errors() == [MSG_NO_SCHEDULES]
    assert escape(MSG_NO_SCHEDULES) in response.content.decode()
    assert Job.objects.count() == 0


def test_deleting_the_last_schedule_is_refused(
    admin_user_client: Client, now: datetime
) -> None:
    """Ticking "delete" on a job's only schedule is refused; it stays."""
    job = make_job(now)
    data = change_form_data(job, **{"schedules-0-DELETE": "on"})

    response = admin_user_client.post(
        reverse("admin:jobs_job_change", args=[job.pk]), data
    )

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.non_form_errors() == [MSG_NO_SCHEDULES]
    assert job.schedules.get().document == DAILY_0900


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            '{"REGION": "apac",}',
            MSG_BAD_JSON.format(
                error="Expecting property name enclosed in double quotes",
                line=1,
                column=19,
            ),
        ),
        ('["REGION"]', MSG_ENV),
    ],
)
def test_bad_env_json_is_a_form_error(
    admin_user_client: Client, env: str, message: str
) -> None:
    """Broken or wrongly shaped env JSON is a message on the field, not a 500."""
    response = admin_user_client.post(reverse(ADD), job_form_data(env=env))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["env"] == [message]
    assert Job.objects.count() == 0


def test_empty_args_and_env_mean_none(admin_user_client: Client) -> None:
    """Blank JSON boxes save as an empty list and object."""
    admin_user_client.post(
        reverse(ADD), job_form_data(args="", env="", retry_exit_codes="")
    )

    job = Job.objects.get()
    assert (job.args, job.env, job.retry_exit_codes) == ([], {}, [])


def test_change_page_fills_the_fields_from_the_stored_document(
    admin_user_client: Client, now: datetime
) -> None:
    """A stored weekly document comes back as a type, checkboxes and a time."""
    document = {"type": "weekly", "weekdays": ["mon", "wed"], "time": "05:00"}
    job = make_job(now, schedules=[document])

    response = admin_user_client.get(reverse("admin:jobs_job_change", args=[job.pk]))

    form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert form["type"].value() == "weekly"
    assert form["weekdays"].value() == ["mon", "wed"]
    assert form["time"].value() == "05:00"
    assert form["raw"].value() in ("", None)


def test_changing_the_timezone_recomputes_the_next_run(
    admin_user_client: Client, now: datetime
) -> None:
    """Same 09:00 wall time, new zone: next_run_at moves to 09:00 London."""
    job = make_job(now)
    data = change_form_data(job, timezone="Europe/London")

    response = admin_user_client.post(
        reverse("admin:jobs_job_change", args=[job.pk]), data
    )

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.timezone == "Europe/London"
    assert job.schedules.get().document == DAILY_0900
    assert job.next_run_at == datetime(2026, 3, 1, 9, tzinfo=UTC)


def test_adding_a_second_schedule_row(admin_user_client: Client, now: datetime) -> None:
    """A second row is saved after the first; the earlier fire wins."""
    job = make_job(now)
    data = change_form_data(
        job,
        **{
            "schedules-TOTAL_FORMS": "2",
            "schedules-1-type": "hourly",
            "schedules-1-minute": "30",
            "schedules-1-job": str(job.pk),
        },
    )

    admin_user_client.post(reverse("admin:jobs_job_change", args=[job.pk]), data)

    job.refresh_from_db()
    assert job.schedule_documents() == [
        DAILY_0900,
        {"type": "hourly", "minute": 30},
    ]
    assert job.next_run_at == datetime(2026, 3, 1, 0, 30, tzinfo=UTC)


def test_change_page_lists_the_next_five_fire_times_marking_a_dst_gap(
    admin_user_client: Client, frozen_clock: FrozenClock
) -> None:
    """New York's 02:30 on 2026-03-08 does not exist: it fires at 03:00 EDT."""
    friday = frozen_clock.set(datetime(2026, 3, 6, 12, tzinfo=UTC))
    job = make_job(
        friday,
        schedules=[{"type": "daily", "time": "02:30"}],
        timezone="America/New_York",
    )

    response = admin_user_client.get(reverse("admin:jobs_job_change", args=[job.pk]))

    text = response.content.decode()
    assert (
        '<ol class="jobs-fire-times">'
        '<li class="">2026-03-07 02:30 EST / 07:30 UTC</li>'
        '<li class="jobs-moved">2026-03-08 03:00 EDT / 07:00 UTC'
        " (moved from 02:30 by a DST gap)</li>"
        '<li class="">2026-03-09 02:30 EDT / 06:30 UTC</li>'
        '<li class="">2026-03-10 02:30 EDT / 06:30 UTC</li>'
        '<li class="">2026-03-11 02:30 EDT / 06:30 UTC</li>'
        "</ol>"
    ) in text


def test_view_only_staff_sees_schedules_in_words(
    client: Client, scripts_dir: Path, now: datetime
) -> None:
    """A user with only the view permission gets a read-only page."""
    job = make_job(now)
    viewer = UserFactory.staff("viewer", password="x")
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_job"),
        Permission.objects.get(codename="view_schedule"),
    )
    client.force_login(viewer)

    response = client.get(reverse("admin:jobs_job_change", args=[job.pk]))

    assert response.status_code == 200
    text = response.content.decode()
    assert "Daily at 09:00" in text
    assert "Run now" not in text


# --- actions and "Run now" ---------------------------------------------------------


def post_action(client: Client, action: str, jobs: list[Job]) -> Any:
    """Run a changelist action on `jobs` and follow the redirect."""
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [str(job.pk) for job in jobs]},
        follow=True,
    )


def test_deactivate_clears_the_next_run_and_activate_restores_it(
    admin_user_client: Client, now: datetime
) -> None:
    """Both actions go through the service, so next_run_at follows is_active."""
    jobs = [make_job(now, name="a"), make_job(now, name="b")]

    response = post_action(admin_user_client, "deactivate", jobs)

    assert [str(m) for m in response.context["messages"]] == [
        MSG_DEACTIVATED.format(jobs=count_jobs(2))
    ]
    assert list(Job.objects.values_list("is_active", "next_run_at")) == [
        (False, None),
        (False, None),
    ]

    response = post_action(admin_user_client, "activate", jobs[:1])

    assert [str(m) for m in response.context["messages"]] == [
        MSG_ACTIVATED.format(jobs="1 job")
    ]
    job = Job.objects.get(name="a")
    assert (job.is_active, job.next_run_at) == (
        True,
        datetime(2026, 3, 1, 1, tzinfo=UTC),
    )


def test_run_now_action_queues_a_manual_run_by_the_user(
    admin_user_client: Client, admin_user: User, now: datetime
) -> None:
    """Each selected job gets one queued manual run, triggered by the user."""
    jobs = [make_job(now, name="a"), make_job(now, name="b")]

    response = post_action(admin_user_client, "run_now", jobs)

    assert [str(m) for m in response.context["messages"]] == [
        MSG_RUNS_QUEUED.format(jobs="2 jobs")
    ]
    runs = JobRun.objects.order_by("job__name")
    assert [
        (r.job.name, r.status, r.trigger, r.triggered_by, r.scheduled_for) for r in runs
    ] == [
        ("a", "queued", "manual", admin_user, now),
        ("b", "queued", "manual", admin_user, now),
    ]


def test_run_now_button_queues_a_manual_run_and_says_so(
    admin_user_client: Client, admin_user: User, now: datetime
) -> None:
    """The change page's button POSTs, queues one run, and links to it."""
    job = make_job(now)
    change_url = reverse("admin:jobs_job_change", args=[job.pk])
    run_now_url = reverse("admin:jobs_job_run_now", args=[job.pk])
    assert (
        f'action="{run_now_url}"' in admin_user_client.get(change_url).content.decode()
    )

    response = admin_user_client.post(run_now_url)

    assert response.status_code == 302
    assert response["Location"] == change_url
    run = JobRun.objects.get()
    assert (run.job, run.status, run.trigger, run.triggered_by) == (
        job,
        JobRun.Status.QUEUED,
        JobRun.Trigger.MANUAL,
        admin_user,
    )
    page = admin_user_client.get(change_url).content.decode()
    run_url = reverse("admin:jobs_jobrun_change", args=[run.pk])
    assert f'Queued manual run <a href="{run_url}">#{run.pk}</a> of report.' in page


def test_run_now_button_refuses_get(admin_user_client: Client, now: datetime) -> None:
    """A link (GET) cannot start a run."""
    job = make_job(now)

    response = admin_user_client.get(reverse("admin:jobs_job_run_now", args=[job.pk]))

    assert response.status_code == 405
    assert JobRun.objects.count() == 0


def test_run_now_button_needs_change_permission(
    client: Client, scripts_dir: Path, now: datetime
) -> None:
    """A staff user who may only view the job cannot run it."""
    job = make_job(now)
    viewer = UserFactory.staff("viewer", password="x")
    viewer.user_permissions.add(Permission.objects.get(codename="view_job"))
    client.force_login(viewer)

    response = client.post(reverse("admin:jobs_job_run_now", args=[job.pk]))

    assert response.status_code == 403
    assert JobRun.objects.count() == 0


def test_run_now_button_is_csrf_protected(
    scripts_dir: Path, admin_user: User, now: datetime
) -> None:
    """Without the CSRF token the POST is refused."""
    job = make_job(now)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post(reverse("admin:jobs_job_run_now", args=[job.pk]))

    assert response.status_code == 403
    assert JobRun.objects.count() == 0


# --- live preview ---------------------------------------------------------------


def preview(client: Client, schedule: Any, timezone: str = "Asia/Hong_Kong") -> Any:
    """POST a document (JSON text) to the preview view."""
    text = schedule if isinstance(schedule, str) else json.dumps(schedule)
    return client.post(reverse(PREVIEW), {"schedule": text, "timezone": timezone})


def test_preview_returns_the_next_five_fire_times(admin_user_client: Client) -> None:
    """Daily 09:00 in Hong Kong from 2026-03-01 08:00 local."""
    response = preview(admin_user_client, DAILY_0900)

    assert response.status_code == 200
    fires = response.json()["fire_times"]
    assert [f["at"] for f in fires] == [
        f"2026-03-0{day}T01:00:00+00:00" for day in range(1, 6)
    ]
    assert fires[0] == {
        "at": "2026-03-01T01:00:00+00:00",
        "local": "2026-03-01T09:00:00+08:00",
        "moved_from": None,
        "fold": None,
        "blackout": None,
        "text": "2026-03-01 09:00 HKT / 01:00 UTC",
    }


def test_preview_marks_a_time_moved_by_a_dst_gap(admin_user_client: Client) -> None:
    """02:30 on New York's spring-forward day fires at 03:00 EDT."""
    response = preview(
        admin_user_client,
        {"type": "monthly", "day": 8, "time": "02:30"},
        timezone="America/New_York",
    )

    fire = response.json()["fire_times"][0]
    assert fire == {
        "at": "2026-03-08T07:00:00+00:00",
        "local": "2026-03-08T03:00:00-04:00",
        "moved_from": "2026-03-08T02:30:00",
        "fold": None,
        "blackout": None,
        "text": "2026-03-08 03:00 EDT / 07:00 UTC (moved from 02:30 by a DST gap)",
    }


def test_preview_of_a_manual_schedule_is_empty(admin_user_client: Client) -> None:
    """A manual schedule never fires by itself."""
    response = preview(admin_user_client, {"type": "manual"})

    assert response.json() == {"fire_times": []}


@pytest.mark.parametrize(
    ("schedule", "timezone", "error"),
    [
        (
            {"type": "daily", "time": "25:00"},
            "Asia/Hong_Kong",
            "time: " + MSG_TIME.format(value="25:00"),
        ),
        (
            DAILY_0900,
            "Mars/Olympus",
            "timezone: " + MSG_TIMEZONE.format(value="Mars/Olympus"),
        ),
        (
            '{"type": "daily"',
            "Asia/Hong_Kong",
            "schedule: "
            + MSG_BAD_JSON.format(error="Expecting ',' delimiter", line=1, column=17),
        ),
    ],
)
def test_preview_of_bad_input_is_a_400_with_the_message(
    admin_user_client: Client, schedule: Any, timezone: str, error: str
) -> None:
    """The engine's (or the JSON parser's) message, naming the field."""
    response = preview(admin_user_client, schedule, timezone=timezone)

    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_preview_refuses_get(admin_user_client: Client) -> None:
    """The preview answers POST only."""
    assert admin_user_client.get(reverse(PREVIEW)).status_code == 405


def test_preview_is_for_staff_only(client: Client, db: None) -> None:
    """A non-staff user is sent to the admin login page."""
    user = UserFactory.create(username="someone", password="x")
    client.force_login(user)

    response = preview(client, DAILY_0900)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
