"""Create a job from a template in the admin, in a real Chromium."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from accounts.tests.factories import UserFactory
from jobs.models import Job
from jobs.tests.template_helpers import library_scripts, template_library
from jobs.tests.test_admin_browser import CHROMIUM, page

__all__ = ["library_scripts", "page", "template_library"]

PASSWORD = "browser-test-password"
SCREENSHOT = Path(tempfile.gettempdir()) / "admin_template_instantiate.png"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Debian's Chromium is not at {CHROMIUM} (apt install chromium)",
    ),
]


def test_create_a_job_from_a_template_by_clicking(
    page: Any,
    live_server: Any,
    transactional_db: None,
    template_library: None,
    library_scripts: Path,
) -> None:
    """Library → "Create job" → override a parameter → the job page says its origin."""
    from playwright.sync_api import expect

    UserFactory.staff(
        "admin", email="admin@example.com", is_superuser=True, password=PASSWORD
    )
    page.goto(f"{live_server.url}/admin/login/?next=/admin/jobs/jobtemplate/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/jobs/jobtemplate/")

    row = page.locator("#result_list tbody tr", has_text="File cleanup")
    row.get_by_role("link", name="Create job").click()
    expect(page.locator("#id_param_days")).to_have_value("30")
    page.fill("#id_job_name", "clean-old-logs")
    page.fill("#id_param_days", "10")
    page.fill("#id_param_pattern", "*.log")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.click("#jobs-template-instantiate-form input[type=submit]")

    job = Job.objects.get(name="clean-old-logs")
    page.wait_for_url(f"{live_server.url}/admin/jobs/job/{job.pk}/change/")
    expect(page.locator(".messagelist")).to_contain_text(
        "Job clean-old-logs created from template File cleanup v1."
    )
    expect(page.locator(".jobs-template-origin")).to_contain_text(
        "From template File cleanup version 1."
    )
    assert job.args == ["../var/artifacts", "10", "*.log"]
    assert job.owner is not None
    assert job.owner.username == "admin"
