"""Job documents lose nothing: export → import into an empty database → export."""

import json
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import AuditEvent
from jobs.models import BlackoutCalendar, Job, JobParameter, JobVersion, Script, Secret
from jobs.services.blackouts import blackout_calendar_save
from jobs.services.jobs import job_save, job_version_restore
from jobs.services.secrets import secret_save

PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "region",
        "type": "choice",
        "required": True,
        "default": "apac",
        "choices": ["apac", "emea"],
        "description": "Where to export.",
    },
    {
        "name": "limit",
        "type": "integer",
        "required": False,
        "default": "100",
        "choices": [],
        "description": "",
    },
    {
        "name": "dry_run",
        "type": "boolean",
        "required": False,
        "default": "",
        "choices": [],
        "description": "Only print.",
    },
    {
        "name": "note",
        "type": "string",
        "required": False,
        "default": "",
        "choices": [],
        "description": "",
    },
]
# One schedule of every kind (`jobs.schedule.KINDS`), zones mixed.
SCHEDULES: list[dict[str, Any]] = [
    {"type": "interval", "seconds": 86400, "start": "2026-03-01T14:10:00+08:00"},
    {"type": "interval", "seconds": 3600},
    {"type": "hourly", "minute": 5},
    {"type": "daily", "time": "02:00"},
    {"type": "weekly", "weekdays": ["mon", "fri"], "time": "09:30"},
    {"type": "monthly", "day": "last", "time": "23:00", "timezone": "UTC"},
    {"type": "yearly", "month": 2, "day": 29, "time": "06:00"},
    {"type": "cron", "expression": "*/15 8-18 * * 1-5"},
    {"type": "once", "at": "2026-12-24T09:00", "timezone": "Europe/London"},
    {"type": "manual"},
]


def full_job(now: datetime) -> Job:
    """Save a job that sets every document key away from its default."""
    secret = secret_save(secret=Secret(name="API_TOKEN"), value="s3cret", now=now)
    # Calendars are referenced by name, not exported: this one outlives the jobs.
    holidays = blackout_calendar_save(
        calendar=BlackoutCalendar(name="holidays", timezone="Asia/Hong_Kong"),
        windows=[],
        now=now,
    )
    job = Job(
        name="every-feature",
        description="Uses everything a job document holds.",
        script="nested/report.sh",
        args=["--day", "yesterday", "a b"],
        env={"REGION": "apac", "MODE": "full"},
        working_dir="nested",
        timezone="Asia/Hong_Kong",
        is_active=False,
        priority=10,
        timeout_seconds=600,
        pre_hook="ok.py",
        post_hook="ok.py",
        retry_max_attempts=3,
        retry_delay_seconds=30,
        retry_backoff=Job.RetryBackoff.EXPONENTIAL,
        retry_max_delay_seconds=900,
        retry_exit_codes=[2, 75],
        retry_on_timeout=True,
        retry_on_lost=False,
        retry_max_total_seconds=7200,
        concurrency_policy=Job.ConcurrencyPolicy.ALLOW,
        max_concurrent=2,
        misfire_policy=Job.MisfirePolicy.SKIP,
        misfire_grace_seconds=300,
        dependency_mode=Job.DependencyMode.ALL_COMPLETE,
        blackout_action=Job.BlackoutAction.DEFER,
        retention_days=30,
        retention_runs=100,
        output_retention_days=7,
    )
    upstream = job_save(
        job=Job(name="a-upstream", script="ok.py"),
        schedules=[{"type": "daily", "time": "01:00"}],
        now=now,
    )
    return job_save(
        job=job,
        schedules=SCHEDULES,
        secrets=[secret],
        parameters=PARAMETERS,
        dependencies=[{"job": upstream.name, "window_hours": 12}],
        blackouts=[holidays],
        now=now,
    )


def export_text(path: Path) -> str:
    """Run `exportjobs` into `path` and return the file's text."""
    call_command("exportjobs", output=str(path), stdout=StringIO())
    return path.read_text(encoding="utf-8")


def empty_the_database() -> None:
    """Delete every job and what hangs off it, and the scripts registry."""
    Job.objects.all().delete()
    Script.objects.all().delete()
    AuditEvent.objects.all().delete()
    assert not JobVersion.objects.exists()
    assert not JobParameter.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_export_import_export_is_byte_identical(
    scripts_dir: Path, tmp_path: Path, now: datetime, fmt: str
) -> None:
    """A job using every feature comes back exactly, parameters included."""
    full_job(now)
    first = export_text(tmp_path / f"first.{fmt}")
    assert '"required": true' in first or "required: true" in first
    assert "holidays" in first
    assert "output_days" in first
    empty_the_database()
    call_command("importjobs", str(tmp_path / f"first.{fmt}"), stdout=StringIO())
    second = export_text(tmp_path / f"second.{fmt}")
    assert second == first
    job = Job.objects.get(name="every-feature")
    assert [d.depends_on.name for d in job.dependencies.all()] == ["a-upstream"]
    assert [c.name for c in job.blackout_calendars.all()] == ["holidays"]
    assert (job.blackout_action, job.retention_runs) == ("defer", 100)
    assert [p.name for p in job.parameters.all()] == [
        "region",
        "limit",
        "dry_run",
        "note",
    ]


@pytest.mark.django_db
def test_a_version_holds_the_parameters_and_restores_them(
    scripts_dir: Path, now: datetime
) -> None:
    """Dropping a parameter is a new version; restoring the old one brings it back."""
    job = full_job(now)
    job_save(job=job, schedules=None, parameters=PARAMETERS[:1], now=now)
    first, second = JobVersion.objects.filter(job=job).order_by("number")
    assert [p["name"] for p in first.snapshot["parameters"]] == [
        "region",
        "limit",
        "dry_run",
        "note",
    ]
    assert [p["name"] for p in second.snapshot["parameters"]] == ["region"]
    job_version_restore(version=first, actor=None, now=now)
    assert job.parameters.count() == len(PARAMETERS)


@pytest.mark.django_db
def test_restoring_a_version_from_before_parameters_keeps_them(
    scripts_dir: Path, now: datetime
) -> None:
    """An old snapshot without "parameters" does not drop the job's current ones."""
    job = full_job(now)
    version = JobVersion.objects.get(job=job)
    del version.snapshot["parameters"]
    version.snapshot["description"] = "older"
    version.save()
    job_version_restore(version=version, actor=None, now=now)
    assert job.parameters.count() == len(PARAMETERS)


@pytest.mark.django_db
def test_reimporting_an_interval_without_start_is_unchanged(
    scripts_dir: Path, tmp_path: Path
) -> None:
    """The start stamped on the first import is kept and not reported a change."""
    path = tmp_path / "jobs.json"
    document = {
        "name": "every-hour",
        "script": "ok.py",
        "schedules": [{"type": "interval", "seconds": 3600}],
        "parameters": PARAMETERS[:1],
    }
    path.write_text(json.dumps([document]), encoding="utf-8")
    outputs = []
    for _ in range(2):
        out = StringIO()
        call_command("importjobs", str(path), stdout=out)
        outputs.append(out.getvalue())
    assert outputs == [
        "Created 1, updated 0, unchanged 0\n",
        "Created 0, updated 0, unchanged 1\n",
    ]
    assert "start" in Job.objects.get().schedule_documents()[0]
