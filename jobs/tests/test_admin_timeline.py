"""The job's slot timeline page in the admin, and its "Run this slot now"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from accounts.models import UserPreference
from jobportal.tests.clocks import FrozenClock
from jobs.models import Job, JobRun
from jobs.tests.factories import JobRunFactory

pytestmark = pytest.mark.django_db

AT_08 = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
RANGE = "?from=2026-03-07T00:00:00%2B00:00&to=2026-03-10T00:00:00%2B00:00"


@pytest.fixture
def job(make_job: Callable[..., Job], frozen_clock: FrozenClock) -> Job:
    """Daily 02:30 New York; its 03-08 slot (03:00 EDT) skipped by a blackout."""
    job = make_job(
        "nightly",
        schedules=[{"type": "daily", "time": "02:30"}],
        timezone="America/New_York",
    )
    JobRunFactory.create(
        job=job,
        scheduled_for=AT_08,
        queued_at=AT_08,
        not_before=AT_08,
        status=JobRun.Status.SKIPPED,
        reason="Inside blackout window 'Maintenance'.",
        reason_code="blackout",
        started_at=None,
        finished_at=AT_08,
        exit_code=None,
    )
    Job.objects.filter(pk=job.pk).update(created_at=AT_08 - timedelta(days=30))
    frozen_clock.set(NOW)
    return job


def test_the_job_page_links_to_the_timeline(admin_client: Client, job: Job) -> None:
    """The History section names it."""
    html = admin_client.get(reverse("admin:jobs_job_change", args=[job.pk])).content
    assert reverse("admin:jobs_job_timeline", args=[job.pk]).encode() in html


def test_the_timeline_lists_slots_in_the_jobs_zone(
    admin_client: Client, job: Job
) -> None:
    """Local times with the zone, the reason code and the DST move."""
    url = reverse("admin:jobs_job_timeline", args=[job.pk]) + RANGE
    html = admin_client.get(url).content.decode()
    assert "Sun 2026-03-08 03:00:00 EDT" in html
    assert "moved from 02:30 (DST gap)" in html
    assert "<code>blackout</code>" in html
    assert "Inside blackout window &#x27;Maintenance&#x27;." in html
    assert html.count("jobs-slot-missing") == 2
    assert html.count('class="jobs-run-slot"') == 3


def test_run_this_slot_now_queues_it_and_comes_back(
    admin_client: Client, job: Job, admin_user: User
) -> None:
    """POST the slot: attempt 2 queued, a message, back to the same range."""
    response = admin_client.post(
        reverse("admin:jobs_job_timeline_run", args=[job.pk]),
        {"slot": "2026-03-08T07:00:00+00:00", "from": "2026-03-07T00:00:00+00:00"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?from=2026-03-07T00%3A00%3A00%2B00%3A00")
    run = JobRun.objects.get(job=job, scheduled_for=AT_08, attempt=2)
    assert (run.status, run.triggered_by) == ("queued", admin_user)


def test_a_viewer_sees_no_run_button_and_may_not_post(
    client: Client, job: Job, make_user: Callable[..., User]
) -> None:
    """The page without buttons; the POST is refused."""
    client.force_login(make_user("v", "Viewer"))
    url = reverse("admin:jobs_job_timeline", args=[job.pk]) + RANGE
    html = client.get(url).content.decode()
    assert "jobs-run-slot" not in html
    response = client.post(
        reverse("admin:jobs_job_timeline_run", args=[job.pk]),
        {"slot": "2026-03-08T07:00:00+00:00"},
    )
    assert response.status_code == 403


def test_a_job_the_user_may_not_see_is_404(
    client: Client, job: Job, make_user: Callable[..., User]
) -> None:
    """No role, no grant."""
    client.force_login(make_user("nobody"))
    url = reverse("admin:jobs_job_timeline", args=[job.pk])
    assert client.get(url).status_code == 404


def test_a_viewer_in_paris_sees_the_new_york_slot_in_both_zones(
    admin_client: Client, admin_user: User, job: Job
) -> None:
    """03:00 EDT (the schedule's own time) and 08:00 CET side by side."""
    UserPreference.objects.create(user=admin_user, timezone="Europe/Paris")
    url = reverse("admin:jobs_job_timeline", args=[job.pk]) + RANGE
    html = admin_client.get(url).content.decode()
    assert "<th>Slot (America/New_York)</th><th>Your zone (Europe/Paris)</th>" in html
    row = html.split('data-slot="2026-03-08T07:00:00+00:00"')[1].split("</tr>")[0]
    assert "Sun 2026-03-08 03:00:00 EDT" in row
    assert '<td class="jobs-slot-viewer"><time datetime="2026-03-08T07:00:00Z"' in row
    assert ">2026-03-08 08:00:00 CET</time>" in row


def test_a_viewer_in_the_jobs_zone_gets_no_second_column(
    admin_client: Client, admin_user: User, job: Job
) -> None:
    """Their zone is the job's: the job's column says it all."""
    UserPreference.objects.create(user=admin_user, timezone="America/New_York")
    url = reverse("admin:jobs_job_timeline", args=[job.pk]) + RANGE
    html = admin_client.get(url).content.decode()
    assert "Your zone" not in html
    assert "jobs-slot-viewer" not in html
