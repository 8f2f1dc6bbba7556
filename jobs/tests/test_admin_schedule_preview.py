"""The job's schedule preview page: from a date, a count, the next DST change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from jobportal.tests.clocks import FrozenClock
from jobs.admin.schedule_preview import MSG_NO_DST
from jobs.models import Job
from jobs.tests.factories import JobFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripts_dir")]


def preview_page(client: Client, job: Job, **query: str) -> str:
    """Return the preview page's HTML."""
    url = reverse("admin:jobs_job_schedule_preview", args=[job.pk])
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


def items(html: str) -> list[str]:
    """Return the fire-time list items' text, with their class."""
    body = html.split('<ol class="jobs-fire-times">', 1)[1].split("</ol>", 1)[0]
    return [part.split("</li>")[0] for part in body.split("<li ")[1:]]


def test_from_a_date_with_a_count_marks_a_dst_gap(admin_client: Client) -> None:
    """New York, 02:30 daily, from 2027-03-13: the 14th moves to 03:00 EDT."""
    job = JobFactory.create(
        timezone="America/New_York",
        schedules=[{"type": "daily", "time": "02:30"}],
    )
    html = preview_page(admin_client, job, start="2027-03-13", count="3")
    assert items(html) == [
        'class="">2027-03-13 02:30 EST / 07:30 UTC',
        'class="jobs-moved">2027-03-14 03:00 EDT / 07:00 UTC '
        "(moved from 02:30 by a DST gap)",
        'class="">2027-03-15 02:30 EDT / 06:30 UTC',
    ]


def test_both_instants_of_a_repeated_hour_are_marked(admin_client: Client) -> None:
    """Hourly at :30 over New York's fall-back night: both 01:30s, marked."""
    job = JobFactory.create(
        timezone="America/New_York",
        schedules=[{"type": "hourly", "minute": 30}],
    )
    html = preview_page(admin_client, job, start="2026-11-01", count="4")
    marked = [item for item in items(html) if item.startswith('class="jobs-fold"')]
    assert len(marked) == 2
    assert escape("(First of the two 01:30s") in marked[0]
    assert "01:30 EDT" in marked[0]
    assert escape("(Second of the two 01:30s") in marked[1]
    assert "01:30 EST" in marked[1]


def test_next_dst_change_for_lord_howe(
    admin_client: Client, frozen_clock: FrozenClock
) -> None:
    """Lord Howe falls back 30 min: the page names the change and shows that night."""
    frozen_clock.set(datetime(2026, 12, 3, tzinfo=UTC))
    job = JobFactory.create(
        timezone="Australia/Lord_Howe",
        schedules=[{"type": "cron", "expression": "45 1 * * *"}],
    )
    html = preview_page(admin_client, job, next_dst="1", count="3")
    assert (
        escape(
            "Next DST change in Australia/Lord_Howe: 2027-04-04 01:59:59 +11 becomes "
            "01:30:00 +1030 (clocks back 30 min)."
        )
        in html
    )
    assert items(html)[0].startswith('class="">2027-04-03 01:45 +11')
    assert "2027-04-04 01:45 +11" in items(html)[1]


def test_a_zone_without_dst_says_so(admin_client: Client) -> None:
    """Hong Kong: no change to show."""
    job = JobFactory.create(timezone="Asia/Hong_Kong")
    html = preview_page(admin_client, job, next_dst="1")
    assert escape(MSG_NO_DST.format(zone="Asia/Hong_Kong")) in html


def test_a_bad_count_is_a_form_error(admin_client: Client) -> None:
    """Count 0 is refused next to the field, not a 500."""
    job = JobFactory.create()
    html = preview_page(admin_client, job, count="0")
    assert "Ensure this value is greater than or equal to 1." in html
