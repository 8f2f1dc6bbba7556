"""Blackout calendars: saving and auditing them, and jobs naming them in
documents, import/export and versions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from jobs.document_schema import MSG_NOT_IN_BLACKOUTS
from jobs.models import BlackoutCalendar, BlackoutWindow, Job, JobVersion
from jobs.models.blackouts import MSG_END_BEFORE_START
from jobs.services.blackouts import blackout_calendar_delete, blackout_calendar_save
from jobs.services.jobs import job_save, job_version_restore
from jobs.services.transfer import JobImportError, jobs_export, jobs_import
from jobs.services.versions import MSG_BLACKOUTS_GONE
from jobs.tests.factories import JobFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, tzinfo=UTC)
DAILY = {"type": "daily", "time": "09:00"}


def holiday(day: date, label: str = "") -> BlackoutWindow:
    """Return an unsaved holiday window."""
    return BlackoutWindow(kind=BlackoutWindow.Kind.HOLIDAY, day=day, label=label)


def make_calendar(name: str = "hk-holidays", **fields: object) -> BlackoutCalendar:
    """Save a calendar with one holiday."""
    return blackout_calendar_save(
        calendar=BlackoutCalendar(name=name, timezone="Asia/Hong_Kong", **fields),
        windows=[holiday(date(2026, 12, 25), "Christmas")],
        now=NOW,
    )


def document(name: str, **fields: object) -> dict[str, object]:
    """Return a small valid job document."""
    return {"name": name, "script": "ok.py", "schedules": [DAILY], **fields}


# --- calendars ---------------------------------------------------------------------


def test_saving_a_calendar_stores_its_windows_and_audits_the_change() -> None:
    """A create event lists the windows by label."""
    calendar = make_calendar()
    assert [w.display_label for w in calendar.windows.all()] == ["Christmas"]
    event = AuditEvent.objects.get(target_type="jobs.blackoutcalendar")
    assert event.action == AuditEvent.Action.CREATE
    assert event.changes["windows"] == [None, ["Christmas"]]


def test_a_window_missing_its_kinds_fields_is_refused_by_position() -> None:
    """Nothing is written; the message names the window and the field."""
    weekly = BlackoutWindow(kind=BlackoutWindow.Kind.WEEKLY, weekday=0)
    with pytest.raises(ValidationError) as caught:
        blackout_calendar_save(
            calendar=BlackoutCalendar(name="x", timezone="UTC"),
            windows=[holiday(date(2026, 1, 1)), weekly],
            now=NOW,
        )
    assert caught.value.message_dict["windows"] == [
        "Window 2: start_time: A weekly window needs: weekday, start_time, end_time.",
        "Window 2: end_time: A weekly window needs: weekday, start_time, end_time.",
    ]
    assert not BlackoutCalendar.objects.exists()


def test_a_one_off_window_must_end_after_it_starts() -> None:
    """An empty or backwards range is refused."""
    window = BlackoutWindow(
        kind=BlackoutWindow.Kind.ONE_OFF, starts_at=NOW, ends_at=NOW
    )
    with pytest.raises(ValidationError) as caught:
        window.full_clean(exclude=["calendar"])
    assert caught.value.message_dict == {"ends_at": [MSG_END_BEFORE_START]}


def test_a_weekly_windows_label_defaults_to_its_times() -> None:
    """Without a label the window reads "Sun 22:00-02:00"."""
    window = BlackoutWindow(
        kind=BlackoutWindow.Kind.WEEKLY,
        weekday=6,
        start_time=time(22),
        end_time=time(2),
    )
    assert window.display_label == "Sun 22:00-02:00"


def test_deleting_a_calendar_detaches_it_from_its_jobs(
    scripts_dir: Path, now: datetime
) -> None:
    """The job stays, without the calendar; the deletion is audited."""
    calendar = make_calendar()
    job = JobFactory.create(blackouts=[calendar], now=now)
    blackout_calendar_delete(calendar=calendar, now=NOW)
    assert list(job.blackout_calendars.all()) == []
    assert AuditEvent.objects.filter(action=AuditEvent.Action.DELETE).count() == 1


# --- documents, import and export --------------------------------------------------


def test_export_names_the_jobs_calendars_and_action(
    scripts_dir: Path, now: datetime
) -> None:
    """ "blackouts" lists calendar names A to Z, next to "blackout_action"."""
    calendars = [make_calendar("b"), make_calendar("a")]
    JobFactory.create(
        name="j",
        blackouts=calendars,
        blackout_action=Job.BlackoutAction.DEFER,
        now=now,
    )
    [exported] = jobs_export()
    assert (exported["blackouts"], exported["blackout_action"]) == (["a", "b"], "defer")


def test_import_attaches_the_named_calendars(scripts_dir: Path, now: datetime) -> None:
    """A document naming a calendar links the job to it."""
    make_calendar()
    jobs_import(
        documents=[document("j", blackouts=["hk-holidays"])], now=now, dry_run=False
    )
    job = Job.objects.get(name="j")
    assert [c.name for c in job.blackout_calendars.all()] == ["hk-holidays"]


def test_import_of_an_unknown_calendar_names_it_and_writes_nothing(
    scripts_dir: Path, now: datetime
) -> None:
    """The error names the job, the key and the missing calendar."""
    with pytest.raises(JobImportError) as caught:
        jobs_import(
            documents=[document("j", blackouts=["nope"])], now=now, dry_run=False
        )
    assert caught.value.messages == [
        'Job "j": blackouts: ' + MSG_NOT_IN_BLACKOUTS.format(value="nope")
    ]
    assert not Job.objects.exists()


def test_reimporting_the_export_changes_nothing(
    scripts_dir: Path, now: datetime
) -> None:
    """Calendars referenced by name round-trip."""
    JobFactory.create(name="j", blackouts=[make_calendar()], now=now)
    result = jobs_import(documents=jobs_export(), now=now, dry_run=False)
    assert result.unchanged == ["j"]


# --- versions ------------------------------------------------------------------------


def test_a_version_records_the_calendars_and_restoring_it_reattaches_them(
    scripts_dir: Path, now: datetime
) -> None:
    """Version 1 had the calendar; restoring it after removal brings it back."""
    calendar = make_calendar()
    job = JobFactory.create(name="j", blackouts=[calendar], now=now)
    job_save(job=job, schedules=None, blackouts=[], now=now)
    first = JobVersion.objects.get(job=job, number=1)
    assert first.snapshot["blackouts"] == ["hk-holidays"]
    job_version_restore(version=first, actor=None, now=now)
    assert [c.name for c in job.blackout_calendars.all()] == ["hk-holidays"]


def test_restoring_a_version_whose_calendar_is_gone_says_which(
    scripts_dir: Path, now: datetime
) -> None:
    """A clear error, not a silent drop."""
    calendar = make_calendar()
    job = JobFactory.create(name="j", blackouts=[calendar], now=now)
    blackout_calendar_delete(calendar=calendar, now=NOW)
    first = JobVersion.objects.get(job=job, number=1)
    with pytest.raises(ValidationError) as caught:
        job_version_restore(version=first, actor=None, now=now)
    assert caught.value.message_dict == {
        "blackouts": [MSG_BLACKOUTS_GONE.format(names="hk-holidays")]
    }
