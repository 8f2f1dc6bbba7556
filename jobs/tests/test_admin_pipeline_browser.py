"""The pipeline view in a real browser: the graph, then "Run pipeline"."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from accounts.tests.factories import UserFactory
from jobs.models import Job, JobDependency, JobRun
from jobs.tests.factories import JobFactory, JobRunFactory
from jobs.tests.test_admin_browser import CHROMIUM, PASSWORD, page  # noqa: F401

PIPELINE_SCREENSHOT = Path(tempfile.gettempdir()) / "admin_job_pipeline.png"
MANUAL = [{"type": "manual"}]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Debian's Chromium is not at {CHROMIUM} (apt install chromium)",
    ),
]


def test_open_the_pipeline_view_and_run_it_from_the_first_step(
    page: Any,  # noqa: F811
    live_server: Any,
    transactional_db: None,
    scripts_dir: Path,
) -> None:
    """extract → transform → load: three nodes with statuses; run from extract."""
    from playwright.sync_api import expect

    UserFactory.staff(
        "admin", email="admin@example.com", is_superuser=True, password=PASSWORD
    )
    jobs = [
        JobFactory.create(name=name, schedules=MANUAL)
        for name in ("extract", "transform", "load")
    ]
    JobDependency.objects.create(job=jobs[1], depends_on=jobs[0])
    JobDependency.objects.create(job=jobs[2], depends_on=jobs[1])
    JobRunFactory.create(job=jobs[0], status=JobRun.Status.SUCCEEDED)
    url = f"/admin/jobs/job/{jobs[0].pk}/change/"
    page.goto(f"{live_server.url}/admin/login/?next={url}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}{url}")

    graph = page.locator("#jobs-pipeline svg.jobs-pipeline")
    expect(graph).to_be_visible()
    nodes = graph.locator("g.jobs-pipeline-node")
    expect(nodes).to_have_count(3)
    expect(graph.locator(f"g[data-job='{jobs[0].pk}']")).to_have_attribute(
        "data-status", "succeeded"
    )
    expect(graph.locator(f"g[data-job='{jobs[2].pk}']")).to_contain_text("never ran")
    expect(graph.locator("line.jobs-pipeline-edge")).to_have_count(2)
    page.screenshot(path=str(PIPELINE_SCREENSHOT), full_page=True)

    page.get_by_role("button", name="Run pipeline from here").click()
    expect(page.locator(".messagelist")).to_contain_text("Queued run")
    queued = JobRun.objects.filter(
        job=Job.objects.get(name="extract"), status=JobRun.Status.QUEUED
    )
    assert queued.count() == 1
