"""The job admin in a real browser: add a weekly job by clicking, see it listed."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from accounts.tests.factories import UserFactory
from jobs.models import Job
from jobs.presentation import format_instant
from jobs.schedule_text import describe_schedules

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Every wait in the browser is bounded by this (milliseconds).
WAIT_MS = 15_000
FORM_SCREENSHOT = Path(tempfile.gettempdir()) / "admin_job_form.png"
LIST_SCREENSHOT = Path(tempfile.gettempdir()) / "admin_job_list.png"
CHANGE_SCREENSHOT = Path(tempfile.gettempdir()) / "admin_job_change.png"
PASSWORD = "browser-test-password"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Debian's Chromium is not at {CHROMIUM} (apt install chromium)",
    ),
]


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Return a page in a fresh headless Chromium."""
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread, which makes
    # Django refuse ORM calls here unless told that this is intended.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(WAIT_MS)
            yield page
        finally:
            browser.close()


def test_add_a_weekly_job_by_clicking_and_see_it_listed(
    page: Any,
    live_server: Any,
    transactional_db: None,
    scripts_dir: Path,
) -> None:
    """Weekly, Mon and Wed at 05:00: the list shows it in words and its next run."""
    from playwright.sync_api import expect

    UserFactory.staff(
        "admin", email="admin@example.com", is_superuser=True, password=PASSWORD
    )
    page.goto(f"{live_server.url}/admin/login/?next=/admin/jobs/job/add/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/jobs/job/add/")

    page.fill("#id_name", "weekly-report")
    page.select_option("#id_script", "ok.py")
    row = page.locator("#schedules-0")
    row.locator("select[name='schedules-0-type']").select_option("weekly")
    expect(row.locator(".field-minute")).to_be_hidden()
    expect(row.locator(".field-expression")).to_be_hidden()
    expect(row.locator(".field-weekdays")).to_be_visible()
    row.locator("input[name='schedules-0-weekdays'][value='mon']").check()
    row.locator("input[name='schedules-0-weekdays'][value='wed']").check()
    row.locator("input[name='schedules-0-time']").fill("05:00")
    # The live preview answers from the server's engine.
    expect(row.locator(".jobs-fire-times li")).to_have_count(5)
    expect(row.locator(".jobs-fire-times li").first).to_contain_text("05:00 HKT")
    page.screenshot(path=str(FORM_SCREENSHOT), full_page=True)

    page.click("input[name='_save']")
    page.wait_for_url(f"{live_server.url}/admin/jobs/job/")

    job = Job.objects.get(name="weekly-report")
    assert job.schedule_documents() == [
        {"type": "weekly", "weekdays": ["mon", "wed"], "time": "05:00"}
    ]
    hong_kong = ZoneInfo("Asia/Hong_Kong")
    assert job.next_run_at is not None
    local = job.next_run_at.astimezone(hong_kong)
    assert (local.strftime("%a"), f"{local:%H:%M}") in {
        ("Mon", "05:00"),
        ("Wed", "05:00"),
    }
    listed = page.locator("#result_list tbody tr", has_text="weekly-report")
    expect(listed).to_contain_text("Weekly on Mon, Wed at 05:00 (Asia/Hong_Kong)")
    expect(listed).to_contain_text(
        describe_schedules(job.schedule_documents(), timezone=job.timezone)
    )
    expect(listed).to_contain_text(format_instant(job.next_run_at, hong_kong))
    page.screenshot(path=str(LIST_SCREENSHOT), full_page=True)

    listed.get_by_role("link", name="weekly-report").click()
    expect(page.locator(".field-upcoming .jobs-fire-times li")).to_have_count(5)
    page.screenshot(path=str(CHANGE_SCREENSHOT), full_page=True)
    page.get_by_role("button", name="Run now").click()
    expect(page.locator(".messagelist")).to_contain_text("Queued manual run #")
    run = job.runs.get()
    assert run.triggered_by is not None
    assert (run.trigger, run.status, run.triggered_by.username) == (
        "manual",
        "queued",
        "admin",
    )
