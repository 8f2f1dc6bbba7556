"""The dashboard and the slot timeline in a real browser (Chromium)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from accounts.tests.factories import UserFactory
from jobportal.tests.clocks import FrozenClock
from jobs.models import Job, JobRun
from jobs.services.metrics import metrics_consume
from jobs.tests.factories import JobRunFactory
from jobs.tests.metrics_fixture import LOOK_AT, record_fixture
from jobs.tests.test_admin_browser import CHROMIUM, PASSWORD, page

__all__ = ["page"]

DASHBOARD_SCREENSHOT = Path(tempfile.gettempdir()) / "admin_dashboard.png"
TIMELINE_SCREENSHOT = Path(tempfile.gettempdir()) / "admin_timeline.png"
AT_08 = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
]


def sign_in(page: Any, live_server: Any, next_path: str) -> None:
    """Sign in as the superuser "admin" and land on `next_path`."""
    UserFactory.staff("admin", is_superuser=True, password=PASSWORD)
    page.goto(f"{live_server.url}/admin/login/?next={next_path}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_path}")


def test_the_dashboard_is_the_landing_page(
    page: Any,
    live_server: Any,
    transactional_db: None,
    make_job: Callable[..., Job],
    frozen_clock: FrozenClock,
) -> None:
    """Tiles, the chart and a failure link that opens the run."""
    from playwright.sync_api import expect

    alpha, beta = make_job("alpha"), make_job("beta")
    record_fixture(alpha, beta)
    metrics_consume(now=LOOK_AT)
    frozen_clock.set(LOOK_AT)
    sign_in(page, live_server, "/admin/")

    expect(page.locator("#tile-rate-24h .jobs-tile-value")).to_have_text("50.0%")
    expect(page.locator("#tile-failures .jobs-tile-value")).to_have_text("2")
    expect(page.locator("#jobs-hourly-chart svg")).to_be_visible()
    expect(page.locator("#jobs-slowest tbody tr")).to_have_count(2)
    page.screenshot(path=str(DASHBOARD_SCREENSHOT), full_page=True)

    timed_out = JobRun.objects.get(status="timed_out")
    page.locator("#jobs-failures tbody tr", has_text="beta").locator("a").nth(1).click()
    page.wait_for_url(f"{live_server.url}/admin/jobs/jobrun/{timed_out.pk}/change/")


def test_the_timeline_explains_a_slot_and_runs_it_again(
    page: Any,
    live_server: Any,
    transactional_db: None,
    make_job: Callable[..., Job],
    frozen_clock: FrozenClock,
) -> None:
    """From the job page to its timeline; "Run this slot now" queues attempt 2."""
    from playwright.sync_api import expect

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
    frozen_clock.set(datetime(2026, 3, 9, 12, tzinfo=UTC))
    sign_in(page, live_server, f"/admin/jobs/job/{job.pk}/change/")

    page.get_by_role("link", name="Every slot of the last days").click()
    row = page.locator("tr.jobs-slot", has_text="blackout")
    expect(row).to_contain_text("Sun 2026-03-08 03:00:00 EDT")
    expect(row).to_contain_text("Inside blackout window 'Maintenance'.")
    page.screenshot(path=str(TIMELINE_SCREENSHOT), full_page=True)

    row.get_by_role("button", name="Run this slot now").click()
    expect(page.locator(".messagelist")).to_contain_text("queued again as run")
    expect(page.locator("tr.jobs-slot", has_text="03:00:00 EDT")).to_contain_text(
        "queued"
    )
    assert JobRun.objects.filter(job=job, scheduled_for=AT_08, attempt=2).exists()
