"""The operator's journeys in a real browser (issue 15), screenshots in var/screens.

First start to a job whose output appears live; approving an edited script
from its diff; a DST night in the schedule preview (New York, Lord Howe);
times in a chosen zone on the run, audit and list pages; the run list at
1400 px without sideways scrolling.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import UserPreference
from accounts.tests.factories import UserFactory
from jobportal.tests.clocks import FrozenClock
from jobs.models import Job, JobRun, Script
from jobs.services.scripts import scripts_sync
from jobs.tests.browser import CHROMIUM, chromium_page, screenshot_path, sign_in
from jobs.tests.factories import JobFactory
from jobs.tests.run_records import make_run, make_worker

PASSWORD = "browser-test-password"
BUNDLED = ("hello.py", "long_task.py")
FIRST_SLOT = datetime(2026, 12, 2, 13, tzinfo=UTC)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Debian's Chromium is not at {CHROMIUM} (apt install chromium)",
    ),
]


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Return a 1400x900 page in a fresh headless Chromium."""
    pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread, which makes
    # Django refuse ORM calls here unless told that this is intended.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium_page() as page:
        yield page


@pytest.fixture
def bundled(scripts_dir: Path) -> Path:
    """Copy bundled example scripts into the test's scripts directory."""
    for name in BUNDLED:
        shutil.copy(Path(settings.BASE_DIR) / "scripts" / name, scripts_dir / name)
    return scripts_dir


@pytest.fixture
def admin(transactional_db: None) -> Any:
    """Return the superuser 'admin' with a known password."""
    return UserFactory.staff("admin", is_superuser=True, password=PASSWORD)


@pytest.mark.usefixtures("require_approval")
def test_first_start_job_from_a_bundled_script_runs_with_live_output(
    page: Any, live_server: Any, bundled: Path, admin: Any, worker_processes: Any
) -> None:
    """Approved at first start; add a job; Run now; output appears without reload."""
    from playwright.sync_api import expect

    call_command("syncscripts", stdout=io.StringIO())
    call_command("approvebundled", stdout=io.StringIO())
    assert Script.objects.get(path="long_task.py").is_runnable is True
    worker = worker_processes.start("--poll-interval", "1")
    sign_in(page, live_server.url, "admin", PASSWORD)

    page.goto(f"{live_server.url}/admin/jobs/job/add/")
    page.fill("#id_name", "long-hk")
    page.select_option("#id_script", "long_task.py")
    page.fill("#id_args", '["4"]')
    row = page.locator("#schedules-0")
    row.locator("select[name='schedules-0-type']").select_option("manual")
    page.click("input[name='_continue']")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    expect(page.locator(".jobs-blocked-banner")).to_have_count(0)

    page.get_by_role("button", name="Run now").click()
    message = page.locator(".messagelist")
    expect(message).to_contain_text("Queued manual run #")
    message.get_by_role("link").click()
    # A marker that a full reload would wipe.
    page.evaluate("window.stillTheSamePage = true")
    output = page.locator("pre.jobs-output")
    expect(output).to_contain_text("working... 2s elapsed", timeout=30_000)
    expect(page.locator(".field-duration .readonly")).to_contain_text("(running)")
    page.screenshot(path=str(screenshot_path("console-run-live")), full_page=True)
    (
        expect(page.locator(".field-status_badge .readonly")).to_contain_text(
            "Succeeded", timeout=30_000
        ),
        worker_processes.logs(),
    )
    expect(output).to_contain_text("done")
    assert page.evaluate("window.stillTheSamePage") is True
    assert worker.poll() is None, worker_processes.logs()
    assert JobRun.objects.get(job__name="long-hk").status == JobRun.Status.SUCCEEDED


@pytest.mark.usefixtures("require_approval")
def test_approving_an_edited_script_from_its_diff(
    page: Any, live_server: Any, bundled: Path, admin: Any
) -> None:
    """An edited approved script shows its diff and is approved again."""
    from playwright.sync_api import expect

    scripts_sync(now=datetime.now(UTC))
    call_command("approvebundled", stdout=io.StringIO())
    with (bundled / "hello.py").open("a") as script:
        script.write('print("one more line")\n')
    scripts_sync(now=datetime.now(UTC))
    job = JobFactory.create(name="hello-hk", script="hello.py")
    sign_in(page, live_server.url, "admin", PASSWORD)

    page.goto(f"{live_server.url}/admin/jobs/job/")
    blocked = page.locator("#result_list tr", has_text="hello-hk").locator(
        ".jobs-blocked-link"
    )
    expect(blocked).to_contain_text("blocked")
    blocked.click()
    expect(page.locator(".jobs-diff-added")).to_contain_text('print("one more line")')
    page.screenshot(path=str(screenshot_path("console-script-diff")), full_page=True)
    # The review box sits below the page's sections, not behind them (its
    # heading's colour used to show between them as tall empty bars).
    boxes = page.evaluate(
        """() => [document.querySelector('.jobs-script-review')
                      .getBoundingClientRect().top,
                  document.querySelector('#script_form')
                      .getBoundingClientRect().bottom]"""
    )
    assert boxes[0] >= boxes[1], boxes
    page.get_by_role("button", name="Approve this content").click()
    expect(page.locator(".messagelist")).to_contain_text("Approved hello.py")
    assert Script.objects.get(path="hello.py").is_runnable is True
    page.goto(f"{live_server.url}/admin/jobs/job/{job.pk}/change/")
    expect(page.locator(".jobs-blocked-banner")).to_have_count(0)


@pytest.mark.parametrize(
    ("zone", "expression", "expected_note"),
    [
        ("America/New_York", "30 2 * * *", "moved from 02:30 by a DST gap"),
        ("Australia/Lord_Howe", "45 1 * * *", "First of the two 01:45s"),
    ],
)
def test_dst_night_in_the_schedule_preview(
    page: Any,
    live_server: Any,
    admin: Any,
    scripts_dir: Path,
    frozen_clock: FrozenClock,
    zone: str,
    expression: str,
    expected_note: str,
) -> None:
    """ "Show the next DST change" lists that night, with the DST mark."""
    from playwright.sync_api import expect

    frozen_clock.set(datetime(2026, 12, 3, tzinfo=UTC))
    job = JobFactory.create(
        name=f"dst-{zone.split('/')[1].lower()}",
        timezone=zone,
        schedules=[{"type": "cron", "expression": expression}],
    )
    sign_in(page, live_server.url, "admin", PASSWORD)
    page.goto(f"{live_server.url}/admin/jobs/job/{job.pk}/change/")
    page.get_by_role("link", name="Schedule preview").click()
    page.fill("#id_count", "4")
    page.get_by_role("button", name="Show the next DST change").click()
    expect(page.locator(".jobs-dst-note")).to_contain_text(f"Next DST change in {zone}")
    marked = page.locator(
        ".jobs-fire-times li.jobs-moved, .jobs-fire-times li.jobs-fold"
    )
    expect(marked.first).to_contain_text(expected_note)
    expect(page.locator(".jobs-fire-times li")).to_have_count(4)
    page.screenshot(
        path=str(screenshot_path(f"console-dst-{job.name}")), full_page=True
    )
    # The "from" date and count work on their own too.
    page.fill("#id_start", "2027-03-13")
    page.fill("#id_count", "2")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".jobs-fire-times li")).to_have_count(2)


def test_times_in_the_users_zone_on_run_audit_and_list_pages(
    page: Any, live_server: Any, admin: Any, scripts_dir: Path
) -> None:
    """A chosen zone (Europe/Paris) shows everywhere, with UTC on hover."""
    from playwright.sync_api import expect

    job = JobFactory.create(name="hello-hk", timezone="Asia/Hong_Kong")
    slot = datetime(2026, 12, 2, 13, 3, 58, tzinfo=UTC)
    run = make_run(job, scheduled_for=slot, worker=make_worker("host-a:1"))
    sign_in(page, live_server.url, "admin", PASSWORD)

    # Without a choice, a job's runs show in the job's zone.
    page.goto(f"{live_server.url}/admin/jobs/jobrun/")
    expect(page.locator("#result_list thead")).to_contain_text("Scheduled (job's zone)")
    expect(page.locator("#result_list tbody")).to_contain_text(
        "2026-12-02 21:03:58 HKT"
    )

    page.goto(f"{live_server.url}/admin/accounts/userpreference/")
    page.fill("#id_timezone", "Europe/Paris")
    page.click("input[name='_save']")
    assert UserPreference.objects.get(user=admin).timezone == "Europe/Paris"

    page.goto(f"{live_server.url}/admin/jobs/jobrun/")
    expect(page.locator("#result_list thead")).to_contain_text(
        "Scheduled (Europe/Paris)"
    )
    cell = page.locator("#result_list tbody time").first
    expect(cell).to_have_text("2026-12-02 14:03:58 CET")
    expect(cell).to_have_attribute("title", "2026-12-02 13:03:58 UTC")
    page.screenshot(path=str(screenshot_path("console-runs-paris")), full_page=True)

    page.goto(f"{live_server.url}/admin/jobs/jobrun/{run.pk}/change/")
    expect(page.locator(".field-scheduled_for_shown time")).to_have_text(
        "2026-12-02 14:03:58 CET"
    )
    page.goto(f"{live_server.url}/admin/accounts/auditevent/")
    expect(page.locator("#result_list thead")).to_contain_text("At (Europe/Paris)")
    expect(page.locator("#result_list tbody time").first).to_contain_text("CET")
    page.screenshot(path=str(screenshot_path("console-audit-paris")), full_page=True)


def test_run_list_fits_1400px_without_sideways_scrolling(
    page: Any, live_server: Any, admin: Any, scripts_dir: Path
) -> None:
    """Long job names and worker names are cut; the table fits its box."""
    job = JobFactory.create(
        name="nightly-warehouse-export-for-the-asia-pacific-region-with-a-long-name"
    )
    worker = make_worker("worker-on-a-host-with-a-very-long-name.example.internal:4242")
    triggered = UserFactory.staff("operator-with-a-long-name", password="x")
    for index in range(5):
        make_run(
            job,
            scheduled_for=datetime(2026, 12, 2, 13, tzinfo=UTC)
            + timedelta(hours=index),
            worker=worker,
            attempt=2,
            exit_code=2,
            status=JobRun.Status.FAILED,
            trigger=JobRun.Trigger.MANUAL,
            triggered_by=triggered,
        )
    sign_in(page, live_server.url, "admin", PASSWORD)
    page.goto(f"{live_server.url}/admin/jobs/jobrun/")
    widths = page.evaluate(
        """() => {
            const box = document.querySelector('#changelist .results');
            return {scroll: box.scrollWidth, client: box.clientWidth,
                    page: document.documentElement.scrollWidth,
                    window: window.innerWidth};
        }"""
    )
    page.screenshot(path=str(screenshot_path("console-run-list-1400")), full_page=True)
    assert widths["scroll"] <= widths["client"], widths
    assert widths["page"] <= widths["window"], widths
    title = page.locator("#result_list tbody .jobs-cut").first.get_attribute("title")
    assert title == job.name
    assert Job.objects.count() == 1
