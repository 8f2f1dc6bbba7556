"""Interval starts and one-offs: job_save, the API, previews and the admin form."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.roles import EDITOR
from jobs.forms import ScheduleForm, fields_from_document
from jobs.models import Job
from jobs.schedule import MSG_START
from jobs.services.jobs import job_save

HOURLY = {"type": "interval", "seconds": 3600}


def saved(now: datetime, *schedules: dict[str, Any]) -> Job:
    """Save a job with `schedules` at `now`."""
    job = Job(name="every-hour", script="ok.py", timezone="Asia/Hong_Kong")
    return job_save(job=job, schedules=list(schedules), now=now)


@pytest.mark.django_db
def test_first_save_stamps_the_start_and_the_first_fire_is_an_interval_later(
    scripts_dir: Path,
) -> None:
    """Saved at 14:10:30 HKT, an hourly interval fires at 15:10:30, 16:10:30..."""
    now = datetime(2026, 3, 1, 6, 10, 30, tzinfo=UTC)
    job = saved(now, HOURLY)
    assert job.schedule_documents() == [{**HOURLY, "start": "2026-03-01T06:10:30Z"}]
    assert job.next_run_at == now + timedelta(hours=1)


@pytest.mark.django_db
def test_a_later_edit_keeps_the_start_unless_the_interval_changes(
    scripts_dir: Path,
) -> None:
    """Resaving the same interval (no start given) keeps the phase."""
    first = datetime(2026, 3, 1, 6, 10, tzinfo=UTC)
    job = saved(first, HOURLY)
    later = first + timedelta(days=3, minutes=17)
    job.description = "edited"
    job_save(job=job, schedules=[HOURLY], now=later)
    assert job.schedule_documents()[0]["start"] == "2026-03-01T06:10:00Z"
    job_save(job=job, schedules=[{"type": "interval", "seconds": 7200}], now=later)
    assert job.schedule_documents()[0]["start"] == "2026-03-04T06:27:00Z"


@pytest.mark.django_db
def test_a_stated_start_is_kept_as_given(scripts_dir: Path) -> None:
    """A start in the document wins over the moment of saving."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    job = saved(now, {**HOURLY, "start": "2026-03-05T09:30:00+08:00"})
    assert job.schedule_documents()[0]["start"] == "2026-03-05T01:30:00Z"
    assert job.next_run_at == datetime(2026, 3, 5, 1, 30, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")
def test_the_api_refuses_a_bad_start_naming_the_field(
    scripts_dir: Path, make_user: Callable[..., User]
) -> None:
    """400 under "schedules" with the engine's "start: ..." message."""
    client = APIClient()
    client.force_authenticate(make_user("ed", EDITOR))
    body = {
        "name": "a",
        "script": "ok.py",
        "schedules": [{**HOURLY, "start": "2026-03-01T14:10"}],
    }
    response = client.post("/api/jobs", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "schedules": ["start: " + MSG_START.format(value="2026-03-01T14:10")]
    }
    assert not Job.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")
def test_the_api_shows_the_stamped_start(
    scripts_dir: Path, make_user: Callable[..., User], now: datetime
) -> None:
    """POST without a start answers with the one saved (the clock's now)."""
    client = APIClient()
    client.force_authenticate(make_user("ed", EDITOR))
    body = {"name": "a", "script": "ok.py", "schedules": [HOURLY]}
    response = client.post("/api/jobs", body, format="json")
    assert response.status_code == 201
    assert response.json()["schedules"] == [
        {"type": "interval", "seconds": 3600, "start": "2026-03-01T00:00:00Z"}
    ]


def test_preview_counts_an_interval_without_start_from_after() -> None:
    """First fire = --after + seconds, not a multiple since 1970."""
    out = StringIO()
    call_command(
        "preview_schedule",
        json.dumps({"type": "interval", "seconds": 5400}),
        after="2026-03-01T06:10:07Z",
        count=2,
        json=True,
        stdout=out,
    )
    assert json.loads(out.getvalue()) == [
        "2026-03-01T07:40:07+00:00",
        "2026-03-01T09:10:07+00:00",
    ]


def test_preview_follows_a_stated_start() -> None:
    """With a start, fires are start + k x seconds."""
    out = StringIO()
    document = {**HOURLY, "start": "2026-03-01T00:20:00Z"}
    call_command(
        "preview_schedule",
        json.dumps(document),
        after="2026-03-01T06:10:07Z",
        count=1,
        json=True,
        stdout=out,
    )
    assert json.loads(out.getvalue()) == ["2026-03-01T06:20:00+00:00"]


@pytest.mark.django_db
def test_the_admin_form_takes_and_shows_a_start() -> None:
    """The interval row has a start box; a bad start is an error next to it."""
    document = {**HOURLY, "start": "2026-03-01T06:10:00Z"}
    initial = fields_from_document(document)
    assert initial["start"] == "2026-03-01T06:10:00Z"
    form = ScheduleForm(data=initial, job_timezone="UTC")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["document"] == document
    bad = ScheduleForm(data={**initial, "start": "soon"}, job_timezone="UTC")
    assert not bad.is_valid()
    assert bad.errors["start"] == [MSG_START.format(value="soon")]


@pytest.mark.django_db
def test_the_admin_form_takes_a_once_schedule() -> None:
    """A one-off row: its "at" box, read in the schedule's zone."""
    data = {"type": "once", "at": "2026-12-24T09:00", "timezone": "Europe/London"}
    form = ScheduleForm(data=data, job_timezone="UTC")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["document"] == {
        "type": "once",
        "at": "2026-12-24T09:00",
        "timezone": "Europe/London",
    }


@pytest.mark.django_db
def test_a_job_with_only_a_past_once_schedule_has_no_next_run(
    scripts_dir: Path,
) -> None:
    """Saved after its one-off instant, the job has nothing to run."""
    now = datetime(2026, 12, 25, tzinfo=UTC)
    job = saved(now, {"type": "once", "at": "2026-12-24T09:00"})
    assert job.next_run_at is None
    assert job.schedule_error == ""
    upcoming = Job.objects.get(pk=job.pk)
    job_save(
        job=upcoming,
        schedules=[{"type": "once", "at": "2026-12-31T23:00"}],
        now=now,
    )
    assert upcoming.next_run_at == datetime(2026, 12, 31, 15, tzinfo=UTC)


@pytest.mark.django_db
def test_the_migration_writes_the_epoch_into_stored_intervals(
    scripts_dir: Path,
) -> None:
    """Intervals saved before "start" keep their phase: start = 1970-01-01."""
    from importlib import import_module

    from django.apps import apps

    from jobs.models import Schedule

    migration = import_module("jobs.migrations.0023_interval_start")
    job = Job.objects.create(name="old", script="ok.py")
    old = Schedule.objects.create(job=job, document=HOURLY, position=0)
    stated = Schedule.objects.create(
        job=job, document={**HOURLY, "start": "2026-01-01T00:00:00Z"}, position=1
    )
    daily = Schedule.objects.create(
        job=job, document={"type": "daily", "time": "09:00"}, position=2
    )
    migration.stamp_epoch(apps, None)
    old.refresh_from_db()
    stated.refresh_from_db()
    daily.refresh_from_db()
    assert old.document == {**HOURLY, "start": "1970-01-01T00:00:00Z"}
    assert stated.document["start"] == "2026-01-01T00:00:00Z"
    assert daily.document == {"type": "daily", "time": "09:00"}
