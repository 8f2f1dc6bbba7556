"""The run history and worker admin: read-only lists and details."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from jobportal.times import instant_html
from jobs.admin.runs import MSG_RUN_TITLE, MSG_RUN_TITLE_ATTEMPT
from jobs.models import Job, JobRun, Worker
from jobs.services.jobs import job_save
from jobs.tests.factories import JobFactory
from jobs.tests.run_records import SLOT, make_run, make_worker

pytestmark = pytest.mark.django_db

RUNS = "admin:jobs_jobrun_changelist"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Hash the test users' passwords cheaply (PBKDF2 costs ~0.5 s a user)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def job(scripts_dir: Path, now: datetime) -> Job:
    """Return a saved daily job."""
    return JobFactory.create(
        name="nightly-report",
        timezone="Asia/Hong_Kong",
        schedules=[{"type": "daily", "time": "09:00"}],
        now=now,
    )


@pytest.fixture
def worker() -> Worker:
    """Return a live worker."""
    return make_worker("host-a:4242")


def staff_with_all_run_permissions(client: Client) -> User:
    """Log in a non-superuser staff member holding every run permission."""
    user = UserFactory.staff("operator", password="x")
    user.user_permissions.add(
        *Permission.objects.filter(content_type__model__in=["jobrun", "worker"])
    )
    client.force_login(user)
    return user


def test_list_shows_the_run_columns(
    admin_client: Client, job: Job, worker: Worker, admin_user: User
) -> None:
    """Job link, times, attempt, trigger, colored status, duration, exit, worker."""
    run = make_run(
        job,
        status=JobRun.Status.FAILED,
        exit_code=2,
        worker=worker,
        triggered_by=admin_user,
        trigger=JobRun.Trigger.MANUAL,
    )

    response = admin_client.get(reverse(RUNS))

    text = response.content.decode()
    job_url = reverse("admin:jobs_job_change", args=[job.pk])
    assert (
        f'<a href="{job_url}" class="jobs-cut" title="nightly-report">'
        "nightly-report</a>"
    ) in text
    assert reverse("admin:jobs_jobrun_change", args=[run.pk]) in text
    assert "Scheduled (job&#x27;s zone)" in text
    assert instant_html(run.scheduled_for, job_zone="Asia/Hong_Kong") in text
    assert "HKT</time>" in text
    assert '<span class="jobs-status jobs-status-failed">Failed</span>' in text
    assert "1m 23s" in text
    assert "host-a:4242" in text
    assert f"Manual · {admin_user.username}</span>" in text
    assert '<td class="field-exit_status">2</td>' in text


def test_list_queries_do_not_grow_with_the_number_of_runs(
    admin_client: Client,
    job: Job,
    worker: Worker,
    admin_user: User,
    django_assert_max_num_queries: Any,
) -> None:
    """One run or thirty: the same number of queries."""

    def add_run(index: int) -> None:
        make_run(
            job,
            scheduled_for=SLOT - timedelta(days=index),
            worker=worker,
            triggered_by=admin_user,
        )

    add_run(0)
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(reverse(RUNS))
    for index in range(1, 30):
        add_run(index)

    with django_assert_max_num_queries(len(queries)):
        response = admin_client.get(reverse(RUNS))
    assert len(response.context["cl"].result_list) == 30


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status__exact=failed", ["failed"]),
        ("trigger__exact=manual", ["succeeded"]),
        ("q=nightly", ["succeeded", "failed"]),
        ("q=other", []),
    ],
)
def test_filters_and_search(
    admin_client: Client, job: Job, query: str, expected: list[str]
) -> None:
    """Status, trigger and job-name search narrow the history."""
    make_run(job, trigger=JobRun.Trigger.MANUAL)
    make_run(job, status=JobRun.Status.FAILED, scheduled_for=SLOT - timedelta(days=1))

    response = admin_client.get(f"{reverse(RUNS)}?{query}")

    assert [r.status for r in response.context["cl"].result_list] == expected


def test_job_and_date_filters(
    admin_client: Client, job: Job, scripts_dir: Path, now: datetime
) -> None:
    """Filtering by job and by scheduled date is offered and works."""
    other = job_save(
        job=Job(name="other", script="ok.py"), schedules=[{"type": "manual"}], now=now
    )
    make_run(job)
    make_run(job, scheduled_for=SLOT - timedelta(days=2))
    make_run(other)
    query = urlencode(
        {"job__id__exact": job.pk, "scheduled_for__gte": "2026-02-28 00:00+00:00"}
    )

    response = admin_client.get(f"{reverse(RUNS)}?{query}")

    assert [r.scheduled_for for r in response.context["cl"].result_list] == [SLOT]
    titles = [spec.title for spec in response.context["cl"].filter_specs]
    assert titles == ["status", "trigger", "job", "scheduled for"]


def test_runs_cannot_be_added(admin_client: Client) -> None:
    """Runs come from the worker and services only: the add page is 403."""
    response = admin_client.get(reverse("admin:jobs_jobrun_add"))

    assert response.status_code == 403


def test_runs_cannot_be_changed(admin_client: Client, job: Job) -> None:
    """A POST to a run's page is refused and changes nothing."""
    run = make_run(job)

    response = admin_client.post(
        reverse("admin:jobs_jobrun_change", args=[run.pk]),
        {"status": JobRun.Status.FAILED, "exit_code": "1"},
    )

    assert response.status_code == 403
    run.refresh_from_db()
    assert (run.status, run.exit_code) == (JobRun.Status.SUCCEEDED, 0)


def test_detail_shows_the_output_escaped_in_a_pre(
    admin_client: Client, job: Job
) -> None:
    """Output that looks like HTML is shown as text, never run."""
    run = make_run(
        job,
        output="line 1\n<script>alert('x')</script>\n",
        output_dropped_bytes=2048,
    )

    response = admin_client.get(reverse("admin:jobs_jobrun_change", args=[run.pk]))

    assert response.status_code == 200
    text = response.content.decode()
    assert (
        '<pre class="jobs-output">line 1\n'
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;\n</pre>"
    ) in text
    assert "<script>alert(" not in text
    assert "2048" in text
    assert 'name="_save"' not in text


def test_nobody_deletes_runs(client: Client, job: Job) -> None:
    """Even a staff member holding the delete permission cannot delete runs."""
    run = make_run(job)
    staff_with_all_run_permissions(client)

    response = client.post(
        reverse("admin:jobs_jobrun_delete", args=[run.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert JobRun.objects.filter(pk=run.pk).exists()


def test_not_even_a_superuser_deletes_runs(admin_client: Client, job: Job) -> None:
    """The ledger stays whole: no delete page and no bulk delete action."""
    run = make_run(job)

    response = admin_client.post(
        reverse("admin:jobs_jobrun_delete", args=[run.pk]), {"post": "yes"}
    )
    bulk = admin_client.post(
        reverse(RUNS), {"action": "delete_selected", "_selected_action": [run.pk]}
    )
    listing = admin_client.get(reverse(RUNS)).content.decode()

    assert response.status_code == 403
    assert bulk.status_code == 302
    assert JobRun.objects.filter(pk=run.pk).exists()
    assert 'value="delete_selected"' not in listing


def test_staff_with_view_permission_sees_runs(client: Client, job: Job) -> None:
    """Viewing needs only the view permission."""
    run = make_run(job)
    staff_with_all_run_permissions(client)

    assert client.get(reverse(RUNS)).status_code == 200
    detail = client.get(reverse("admin:jobs_jobrun_change", args=[run.pk]))
    assert detail.status_code == 200


def test_worker_list_is_read_only(admin_client: Client, worker: Worker) -> None:
    """Workers are listed with their heartbeat; they cannot be added or changed."""
    response = admin_client.get(reverse("admin:jobs_worker_changelist"))

    assert response.status_code == 200
    text = response.content.decode()
    assert "host-a:4242" in text
    assert "4242" in text
    assert reverse("admin:jobs_worker_add") not in text
    assert admin_client.get(reverse("admin:jobs_worker_add")).status_code == 403
    change = reverse("admin:jobs_worker_change", args=[worker.pk])
    assert admin_client.post(change, {"name": "renamed"}).status_code == 403
    worker.refresh_from_db()
    assert worker.name == "host-a:4242"


def run_action(client: Client, action: str, *runs: JobRun) -> Any:
    """POST an admin action on the run list."""
    return client.post(
        reverse(RUNS),
        {"action": action, "_selected_action": [str(run.pk) for run in runs]},
        follow=True,
    )


def test_cancel_action_cancels_a_queued_run_with_who_asked(
    admin_client: Client, job: Job, admin_user: User
) -> None:
    """A queued run is cancelled at once and says who cancelled it."""
    run = make_run(job, status=JobRun.Status.QUEUED, started_at=None, finished_at=None)
    response = run_action(admin_client, "cancel_runs", run)
    run.refresh_from_db()
    assert run.status == JobRun.Status.CANCELLED
    assert run.cancel_requested_by == admin_user
    assert run.reason == "Cancelled by admin."
    assert "Cancel requested: 1 run(s)." in response.content.decode()


def test_cancel_action_asks_the_worker_to_stop_a_running_run(
    admin_client: Client, job: Job, worker: Worker
) -> None:
    """A running run keeps running until its worker ends it; the request is stored."""
    run = make_run(
        job,
        status=JobRun.Status.RUNNING,
        worker=worker,
        finished_at=None,
        exit_code=None,
    )
    run_action(admin_client, "cancel_runs", run)
    run.refresh_from_db()
    assert run.status == JobRun.Status.RUNNING
    assert run.cancel_requested_at is not None


def test_cancel_action_refuses_a_finished_run_with_a_message(
    admin_client: Client, job: Job
) -> None:
    """A finished run is left alone and the refusal is reported."""
    run = make_run(job)
    response = run_action(admin_client, "cancel_runs", run)
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED
    assert "succeeded" in response.content.decode()


def test_mark_failed_action_fails_a_run_of_a_dead_worker_at_once(
    admin_client: Client, job: Job, worker: Worker
) -> None:
    """An admin need not wait for the heartbeat limit."""
    run = make_run(
        job,
        status=JobRun.Status.RUNNING,
        worker=worker,
        finished_at=None,
        exit_code=None,
    )
    run_action(admin_client, "mark_runs_failed", run)
    run.refresh_from_db()
    assert run.status == JobRun.Status.FAILED
    assert run.finished_at is not None
    assert "admin" in run.reason


def test_run_control_actions_need_permission_to_change_jobs(
    client: Client, job: Job
) -> None:
    """Staff who may only view runs do not get the cancel action."""
    staff_with_all_run_permissions(client)
    run = make_run(job, status=JobRun.Status.QUEUED, started_at=None, finished_at=None)
    page = client.get(reverse(RUNS)).content.decode()
    run_action(client, "cancel_runs", run)
    run.refresh_from_db()
    assert "cancel_runs" not in page
    assert run.status == JobRun.Status.QUEUED


def test_cancel_and_mark_failed_are_audited(
    admin_client: Client, job: Job, worker: Worker, admin_user: User
) -> None:
    """Operator control of runs lands in the audit log with who did it."""
    from accounts.models import AuditEvent

    queued = make_run(
        job, status=JobRun.Status.QUEUED, started_at=None, finished_at=None
    )
    running = make_run(
        job,
        scheduled_for=SLOT + timedelta(days=1),
        status=JobRun.Status.RUNNING,
        worker=worker,
        finished_at=None,
        exit_code=None,
    )
    run_action(admin_client, "cancel_runs", queued)
    run_action(admin_client, "mark_runs_failed", running)
    events = AuditEvent.objects.filter(
        actor=admin_user, action__in=["cancel", "update"]
    ).order_by("pk")
    assert [(e.action, e.changes["status"][1]) for e in events] == [
        ("cancel", "cancelled"),
        ("update", "failed"),
    ]


def test_run_page_is_titled_by_the_run_id_and_shows_times_in_the_jobs_zone(
    admin_client: Client, job: Job, worker: Worker
) -> None:
    """ "Run #N of job" (attempt only when a retry); seconds in HKT, UTC on hover."""
    run = make_run(job, worker=worker)
    retry = make_run(job, worker=worker, attempt=2)

    page = admin_client.get(
        reverse("admin:jobs_jobrun_change", args=[run.pk])
    ).content.decode()
    retry_page = admin_client.get(
        reverse("admin:jobs_jobrun_change", args=[retry.pk])
    ).content.decode()

    assert f"<h1>{MSG_RUN_TITLE.format(pk=run.pk, job=job.name)}</h1>" in page
    assert (
        MSG_RUN_TITLE_ATTEMPT.format(pk=retry.pk, job=job.name, attempt=2) in retry_page
    )
    for at in (run.scheduled_for, run.queued_at, run.started_at, run.finished_at):
        assert instant_html(at, job_zone="Asia/Hong_Kong") in page
    assert "HKT</time>" in page


def test_workers_list_shows_times_with_utc_on_hover(
    admin_client: Client, worker: Worker
) -> None:
    """Heartbeats in the portal's zone, UTC in the title."""
    page = admin_client.get(reverse("admin:jobs_worker_changelist")).content.decode()
    assert instant_html(worker.last_heartbeat_at) in page
