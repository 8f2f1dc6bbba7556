"""The job's page: its last 20 runs with links, and a link to all of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from jobportal.times import instant_html
from jobs.tests.factories import JobFactory
from jobs.tests.run_records import SLOT, make_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripts_dir")]


def test_job_page_lists_the_last_20_runs_and_links_to_all(
    admin_client: Client,
) -> None:
    """Newest first, each linking to its page; older ones via "All runs"."""
    job = JobFactory.create(name="hello-hk", timezone="Asia/Hong_Kong")
    runs = [make_run(job, scheduled_for=SLOT + timedelta(hours=i)) for i in range(22)]
    html = admin_client.get(
        reverse("admin:jobs_job_change", args=[job.pk])
    ).content.decode()
    section = html.split('id="jobs-recent-runs"', 1)[1].split("</fieldset>", 1)[0]
    shown = [run for run in runs if f'data-run-id="{run.pk}"' in section]
    assert shown == runs[2:]
    newest = runs[-1]
    assert section.index(f'data-run-id="{newest.pk}"') < section.index(
        f'data-run-id="{runs[2].pk}"'
    )
    assert reverse("admin:jobs_jobrun_change", args=[newest.pk]) in section
    assert instant_html(newest.scheduled_for, job_zone="Asia/Hong_Kong") in section
    all_runs = f"{reverse('admin:jobs_jobrun_changelist')}?job__id__exact={job.pk}"
    assert f'<a href="{all_runs}">All runs of this job</a>' in section
    assert "1m 23s" in section


def test_a_new_job_says_it_has_no_runs(admin_client: Client) -> None:
    """No runs yet: said, with the link still there."""
    job = JobFactory.create()
    html = admin_client.get(
        reverse("admin:jobs_job_change", args=[job.pk])
    ).content.decode()
    assert "No runs yet." in html
