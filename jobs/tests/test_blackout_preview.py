"""The previews mark the slots a blackout removes: CLI, API and the job page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from jobportal.tests.clocks import FrozenClock
from jobs.api.views.schedules import MSG_UNKNOWN_BLACKOUTS
from jobs.models import BlackoutCalendar, BlackoutWindow
from jobs.services.blackouts import blackout_calendar_save
from jobs.tests.factories import JobFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 20, tzinfo=UTC)
DAILY_9_HK = {"type": "daily", "time": "09:00", "timezone": "Asia/Hong_Kong"}


def make_calendar(name: str = "hk-holidays", *, is_global: bool = False) -> None:
    """Save a Hong Kong calendar with Christmas Day as a holiday."""
    blackout_calendar_save(
        calendar=BlackoutCalendar(
            name=name, timezone="Asia/Hong_Kong", is_global=is_global
        ),
        windows=[
            BlackoutWindow(
                kind=BlackoutWindow.Kind.HOLIDAY, day=date(2026, 12, 25), label="Xmas"
            )
        ],
        now=NOW,
    )


def cli(*args: str) -> list[str]:
    """Run preview_schedule for daily 09:00 Hong Kong from NOW; return lines."""
    out = StringIO()
    call_command(
        "preview_schedule",
        '{"type": "daily", "time": "09:00", "timezone": "Asia/Hong_Kong"}',
        "--after",
        "2026-12-24T12:00:00Z",
        "--count",
        "3",
        *args,
        stdout=out,
    )
    return out.getvalue().splitlines()[1:]


def test_cli_marks_the_slot_a_named_calendar_removes() -> None:
    """Christmas 09:00 HKT carries the window's name; the others do not."""
    make_calendar()
    lines = cli("--blackouts", "hk-holidays")
    assert lines[0].endswith("removed by blackout window 'hk-holidays: Xmas'")
    assert "blackout" not in lines[1]


def test_cli_without_the_option_consults_no_calendar() -> None:
    """Plain previews stay what they were."""
    make_calendar(is_global=True)
    assert all("blackout" not in line for line in cli())


def test_cli_refuses_an_unknown_calendar() -> None:
    """A CommandError names it."""
    with pytest.raises(CommandError, match="no blackout calendar is named: nope"):
        cli("--blackouts", "nope")


def test_api_names_the_window_of_a_removed_slot(
    api_client: Any, make_user: Callable[..., User]
) -> None:
    """A global calendar applies without being named."""
    make_calendar(is_global=True)
    api_client.force_authenticate(make_user("vera", "Viewer"))
    response = api_client.post(
        reverse("api:schedule-preview"),
        {"schedule": DAILY_9_HK, "count": 2, "after": "2026-12-24T12:00:00Z"},
        format="json",
    )
    assert response.status_code == 200
    fires = response.json()["fire_times"]
    assert [f["blackout"] for f in fires] == ["hk-holidays: Xmas", None]


def test_api_refuses_an_unknown_calendar(
    api_client: Any, make_user: Callable[..., User]
) -> None:
    """400 naming it under "blackouts"."""
    api_client.force_authenticate(make_user("vera", "Viewer"))
    response = api_client.post(
        reverse("api:schedule-preview"),
        {"schedule": DAILY_9_HK, "blackouts": ["nope"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "blackouts": [MSG_UNKNOWN_BLACKOUTS.format(names="nope")]
    }


def test_the_job_page_marks_upcoming_slots_inside_the_jobs_windows(
    client: Client,
    make_user: Callable[..., User],
    scripts_dir: Path,
    frozen_clock: FrozenClock,
) -> None:
    """The "next fire times" list flags Christmas with the window."""
    make_calendar()
    frozen_clock.now = datetime(2026, 12, 24, 12, tzinfo=UTC)
    job = JobFactory.create(
        schedules=[DAILY_9_HK],
        blackouts=list(BlackoutCalendar.objects.all()),
        now=frozen_clock.now,
    )
    client.force_login(make_user("ada", "Admin"))
    page = client.get(reverse("admin:jobs_job_change", args=[job.pk])).content.decode()
    assert '<li class="jobs-blackout">2026-12-25 09:00 HKT' in page
    assert "removed by blackout window &#x27;hk-holidays: Xmas&#x27;" in page
