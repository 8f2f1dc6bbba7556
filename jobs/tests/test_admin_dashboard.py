"""The dashboard on the admin index: figures, links and permissions."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from accounts.models import UserPreference
from jobportal.tests.clocks import FrozenClock
from jobs.models import Job, JobRun
from jobs.services.grants import job_rights_set
from jobs.services.metrics import metrics_consume
from jobs.tests.metrics_fixture import DAY, LOOK_AT, record_fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs(make_job: Callable[..., Job], frozen_clock: FrozenClock) -> tuple[Job, Job]:
    """The fixture's jobs with their runs counted; the clock at LOOK_AT."""
    alpha, beta = make_job("alpha"), make_job("beta")
    record_fixture(alpha, beta)
    metrics_consume(now=LOOK_AT)
    frozen_clock.set(LOOK_AT)
    return alpha, beta


def tile(html: str, name: str) -> str:
    """Return a tile's value."""
    match = re.search(
        rf'id="tile-{name}"><span class="jobs-tile-value">([^<]*)</span>', html
    )
    assert match, name
    return match.group(1)


def test_the_admin_index_is_the_dashboard(
    admin_client: Client, jobs: tuple[Job, Job]
) -> None:
    """Success rates, failures, lateness and the apps below, for a superuser."""
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert tile(html, "rate-24h") == "50.0%"
    assert tile(html, "rate-7d") == "50.0%"
    assert tile(html, "failures") == "2"
    assert tile(html, "running") == "0"
    assert '<th>p95</th><td class="jobs-num">26s</td>' in html
    assert 'id="jobs-hourly-chart"><svg' in html
    assert 'class="app-jobs module' in html


def test_failures_link_to_their_runs_and_jobs(
    admin_client: Client, jobs: tuple[Job, Job]
) -> None:
    """Each failure of the last 24 hours links to its run page."""
    html = admin_client.get(reverse("admin:index")).content.decode()
    for run in JobRun.objects.filter(status__in=("failed", "timed_out")):
        assert reverse("admin:jobs_jobrun_change", args=[run.pk]) in html
    assert reverse("admin:jobs_job_change", args=[jobs[1].pk]) in html


def test_slowest_and_failing_tables_list_the_jobs(
    admin_client: Client, jobs: tuple[Job, Job]
) -> None:
    """beta is the slowest (1h 00m average); both jobs failed once."""
    html = admin_client.get(reverse("admin:index")).content.decode()
    slowest = html.split('id="jobs-slowest"')[1].split("</table>")[0]
    assert slowest.index(">beta<") < slowest.index(">alpha<")
    assert "1h 00m" in slowest
    assert slowest.count("<svg") == 4


def test_a_user_sees_the_figures_of_their_jobs_only(
    client: Client,
    jobs: tuple[Job, Job],
    make_user: Callable[..., User],
) -> None:
    """Granted alpha only: 3 runs, 66.7 %, one failure, no link to beta."""
    alpha, beta = jobs
    admin = make_user("boss", "Admin")
    guest = make_user("guest")
    job_rights_set(job=alpha, grantee=guest, rights=["view_job"], actor=admin, now=DAY)
    client.force_login(guest)
    html = client.get(reverse("admin:index")).content.decode()
    assert tile(html, "rate-24h") == "66.7%"
    assert tile(html, "failures") == "1"
    assert reverse("admin:jobs_job_change", args=[beta.pk]) not in html


def test_a_user_without_jobs_sees_zeros(
    client: Client, jobs: tuple[Job, Job], make_user: Callable[..., User]
) -> None:
    """No role, no grant: nothing to count."""
    client.force_login(make_user("nobody"))
    html = client.get(reverse("admin:index")).content.decode()
    assert tile(html, "rate-24h") == "-"
    assert tile(html, "failures") == "0"


def test_times_follow_the_viewers_zone(
    admin_client: Client, admin_user: User, jobs: tuple[Job, Job]
) -> None:
    """Europe/Paris: "as of", the failures' slots and the hours in CET."""
    UserPreference.objects.create(user=admin_user, timezone="Europe/Paris")
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert ">2026-03-01 13:00:00 CET</time></small></h2>" in html
    failures = html.split('id="jobs-failures"')[1].split("</table>")[0]
    assert "<th>Slot (Europe/Paris)</th>" in failures
    assert ">2026-03-01 09:20:00 CET</time>" in failures
    assert "Runs per hour, last 24 hours, Europe/Paris" in html
    assert "Scheduling lateness today (Europe/Paris)" in html


def test_without_a_zone_slots_are_in_each_jobs_zone(
    admin_client: Client, jobs: tuple[Job, Job]
) -> None:
    """No choice: a failure's slot in its job's zone, the rest in the portal's."""
    Job.objects.filter(pk=jobs[0].pk).update(timezone="America/New_York")
    html = admin_client.get(reverse("admin:index")).content.decode()
    failures = html.split('id="jobs-failures"')[1].split("</table>")[0]
    assert "<th>Slot (job&#x27;s zone)</th>" in failures
    assert ">2026-03-01 03:20:00 EST</time>" in failures
    assert ">2026-03-01 20:00:00 HKT</time></small></h2>" in html


def test_a_user_granted_through_a_group_sees_the_same_figures(
    client: Client,
    jobs: tuple[Job, Job],
    make_user: Callable[..., User],
) -> None:
    """alpha through a group: as granted directly, 66.7 %, one failure."""
    alpha, beta = jobs
    group = Group.objects.create(name="alpha-watchers")
    member = make_user("member")
    member.groups.add(group)
    job_rights_set(
        job=alpha,
        grantee=group,
        rights=["view_job"],
        actor=make_user("boss", "Admin"),
        now=DAY,
    )
    client.force_login(member)
    html = client.get(reverse("admin:index")).content.decode()
    assert tile(html, "rate-24h") == "66.7%"
    assert tile(html, "rate-7d") == "66.7%"
    assert tile(html, "failures") == "1"
    assert '<th>runs started</th><td class="jobs-num">3</td>' in html
    assert reverse("admin:jobs_job_change", args=[beta.pk]) not in html
