"""The job admin in a real browser: a one-off schedule and an interval's start."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from accounts.tests.factories import UserFactory
from jobs.models import Job
from jobs.tests.test_admin_browser import CHROMIUM, PASSWORD, page

__all__ = ["page"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
]


def test_add_a_job_that_runs_once_then_give_it_an_interval_start(
    page: Any,
    live_server: Any,
    transactional_db: None,
    scripts_dir: Path,
) -> None:
    """ "Once" shows only its date-time box and previews one fire; saved, it is due."""
    from playwright.sync_api import expect

    UserFactory.staff(
        "admin", email="admin@example.com", is_superuser=True, password=PASSWORD
    )
    page.goto(f"{live_server.url}/admin/login/?next=/admin/jobs/job/add/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/jobs/job/add/")

    page.fill("#id_name", "christmas-eve")
    page.select_option("#id_script", "ok.py")
    row = page.locator("#schedules-0")
    row.locator("select[name='schedules-0-type']").select_option("once")
    expect(row.locator(".field-at")).to_be_visible()
    expect(row.locator(".field-start")).to_be_hidden()
    expect(row.locator(".field-time")).to_be_hidden()
    row.locator("input[name='schedules-0-at']").fill("2099-12-24T09:00")
    expect(row.locator(".jobs-fire-times li")).to_have_count(1)
    expect(row.locator(".jobs-fire-times li").first).to_contain_text("09:00 HKT")

    page.click("input[name='_save']")
    page.wait_for_url(f"{live_server.url}/admin/jobs/job/")
    job = Job.objects.get(name="christmas-eve")
    assert job.schedule_documents() == [{"type": "once", "at": "2099-12-24T09:00"}]
    hong_kong = ZoneInfo("Asia/Hong_Kong")
    assert job.next_run_at == datetime(2099, 12, 24, 9, tzinfo=hong_kong)
    listed = page.locator("#result_list tbody tr", has_text="christmas-eve")
    expect(listed).to_contain_text("Once on 2099-12-24 at 09:00 (Asia/Hong_Kong)")

    listed.get_by_role("link", name="christmas-eve").click()
    row = page.locator("#schedules-0")
    row.locator("select[name='schedules-0-type']").select_option("interval")
    expect(row.locator(".field-start")).to_be_visible()
    expect(row.locator(".field-at")).to_be_hidden()
    row.locator("input[name='schedules-0-seconds']").fill("86400")
    row.locator("input[name='schedules-0-start']").fill("2099-01-01T14:10:00+08:00")
    expect(row.locator(".jobs-fire-times li").first).to_contain_text("14:10")
    page.click("input[name='_save']")
    page.wait_for_url(f"{live_server.url}/admin/jobs/job/")
    job.refresh_from_db()
    assert job.schedule_documents() == [
        {"type": "interval", "seconds": 86400, "start": "2099-01-01T06:10:00Z"}
    ]
