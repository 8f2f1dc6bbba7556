"""Import and export services: round trip, idempotence, all or nothing."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from accounts.tests.factories import UserFactory
from jobs.models import Job, JobRun, Schedule
from jobs.services.jobs import job_save
from jobs.services.transfer import (
    MSG_DUPLICATE,
    ImportResult,
    JobImportError,
    jobs_export,
    jobs_import,
)
from jobs.tests.factories import JobFactory

pytestmark = pytest.mark.django_db

DAILY_0900 = {"type": "daily", "time": "09:00"}
TIME_25 = "Time must be 'HH:MM' in 24-hour form (00:00 to 23:59), got '25:00'."


def document(name: str, **fields: Any) -> dict[str, Any]:
    """Return a small valid job document."""
    return {"name": name, "script": "ok.py", "schedules": [DAILY_0900], **fields}


def make_job(now: datetime, name: str, **fields: Any) -> Job:
    """Save a job through the service."""
    fields.setdefault("schedules", [DAILY_0900])
    return JobFactory.create(name=name, now=now, **fields)


def row_counts() -> tuple[int, int]:
    """Return how many jobs and schedules the database holds."""
    return Job.objects.count(), Schedule.objects.count()


# --- export --------------------------------------------------------------------


def test_export_orders_jobs_by_name(scripts_dir: Path, now: datetime) -> None:
    """The export lists jobs by name whatever order they were made in."""
    for name in ("b", "c", "a"):
        make_job(now, name)
    assert [d["name"] for d in jobs_export()] == ["a", "b", "c"]


def test_export_can_be_limited_to_a_queryset(scripts_dir: Path, now: datetime) -> None:
    """A queryset chooses which jobs are exported."""
    make_job(now, "a")
    make_job(now, "b", is_active=False)
    exported = jobs_export(queryset=Job.objects.filter(is_active=False))
    assert [d["name"] for d in exported] == ["b"]


def test_export_then_import_into_an_empty_database_gives_the_same_jobs(
    scripts_dir: Path, now: datetime
) -> None:
    """Every field and schedule survives the round trip."""
    make_job(
        now,
        "nightly",
        description="Nightly export",
        args=["--full"],
        env={"REGION": "apac"},
        timezone="America/New_York",
        priority=5,
        timeout_seconds=120,
        retry_max_attempts=4,
        retry_backoff=Job.RetryBackoff.EXPONENTIAL,
        retry_exit_codes=[3],
        concurrency_policy=Job.ConcurrencyPolicy.REPLACE,
        misfire_policy=Job.MisfirePolicy.RUN_ALL,
        schedules=[DAILY_0900, {"type": "monthly", "day": "last", "time": "23:00"}],
    )
    make_job(now, "adhoc", is_active=False, schedules=[{"type": "manual"}])
    exported = jobs_export()
    Job.objects.all().delete()

    result = jobs_import(documents=exported, now=now, dry_run=False)

    assert result == ImportResult(created=["adhoc", "nightly"])
    assert jobs_export() == exported


def test_second_import_changes_nothing(scripts_dir: Path, now: datetime) -> None:
    """Importing the same documents again: 0 created, 0 updated."""
    documents = [document("a"), document("b", retry={"max_attempts": 3})]
    jobs_import(documents=documents, now=now, dry_run=False)
    before = {job.pk: job.updated_at for job in Job.objects.all()}

    result = jobs_import(documents=documents, now=now, dry_run=False)

    assert result == ImportResult(unchanged=["a", "b"])
    assert {job.pk: job.updated_at for job in Job.objects.all()} == before


def test_schedules_equal_after_normalising_are_unchanged(
    scripts_dir: Path, now: datetime
) -> None:
    """ "9:00" and "09:00" are the same schedule, so nothing is updated."""
    make_job(now, "a")
    doc = document("a", schedules=[{"type": "daily", "time": "9:00"}])
    assert jobs_import(documents=[doc], now=now, dry_run=False) == ImportResult(
        unchanged=["a"]
    )


def test_import_updates_an_existing_job_in_place(
    scripts_dir: Path, now: datetime
) -> None:
    """Same pk, runs kept, new values and schedules, next run recomputed."""
    job = make_job(now, "a", timezone="Asia/Hong_Kong")
    run = JobRun.objects.create(
        job=job, scheduled_for=now, trigger="manual", queued_at=now, not_before=now
    )
    doc = document(
        "a",
        timezone="UTC",
        schedules=[{"type": "hourly", "minute": 15}],
        concurrency={"policy": "allow", "max_concurrent": 3},
    )

    result = jobs_import(documents=[doc], now=now, dry_run=False)

    assert result == ImportResult(updated=["a"])
    job.refresh_from_db()
    assert (job.timezone, job.concurrency_policy, job.max_concurrent) == (
        "UTC",
        "allow",
        3,
    )
    assert job.schedule_documents() == [{"type": "hourly", "minute": 15}]
    assert job.next_run_at == datetime(2026, 3, 1, 0, 15, tzinfo=UTC)
    assert list(job.runs.all()) == [run]


def test_keys_left_out_take_their_defaults(scripts_dir: Path, now: datetime) -> None:
    """An import describes the whole job: a missing group means defaults."""
    make_job(now, "a", retry_max_attempts=5, priority=9, description="old")
    jobs_import(documents=[document("a")], now=now, dry_run=False)
    job = Job.objects.get(name="a")
    assert (job.retry_max_attempts, job.priority, job.description) == (1, 0, "")


def test_missing_timezone_means_the_portal_default(
    scripts_dir: Path, now: datetime, settings: Any
) -> None:
    """A document without "timezone" gets JOB_PORTAL_TIMEZONE."""
    settings.JOB_PORTAL_TIMEZONE = "Europe/Paris"
    jobs_import(documents=[document("a")], now=now, dry_run=False)
    job = Job.objects.get(name="a")
    assert job.timezone == "Europe/Paris"
    assert job.next_run_at == datetime(2026, 3, 1, 8, tzinfo=UTC)


def test_new_jobs_get_the_owner(scripts_dir: Path, now: datetime) -> None:
    """`owner` is set on the jobs the import creates, not on updated ones."""
    make_job(now, "old")
    user = UserFactory.create(username="ada")
    documents = [document("old", priority=1), document("new")]
    jobs_import(documents=documents, now=now, owner=user, dry_run=False)
    owners = dict(Job.objects.values_list("name", "owner__username"))
    assert owners == {"old": None, "new": "ada"}


def test_created_updated_and_unchanged_are_told_apart(
    scripts_dir: Path, now: datetime
) -> None:
    """The result names each job under what happened to it."""
    make_job(now, "same")
    make_job(now, "changed")
    documents = [document("same"), document("changed", priority=2), document("new")]
    result = jobs_import(documents=documents, now=now, dry_run=False)
    assert result == ImportResult(
        created=["new"], updated=["changed"], unchanged=["same"]
    )


def test_jobs_not_in_the_import_are_left_alone(
    scripts_dir: Path, now: datetime
) -> None:
    """Import never deletes or deactivates."""
    make_job(now, "keep")
    jobs_import(documents=[document("new")], now=now, dry_run=False)
    assert Job.objects.get(name="keep").is_active is True


# --- all or nothing --------------------------------------------------------------


def test_invalid_job_in_the_middle_writes_nothing(
    scripts_dir: Path, now: datetime
) -> None:
    """One bad schedule: no job created or updated, the message names it."""
    make_job(now, "first")
    before = row_counts()
    documents = [
        document("first", priority=3),
        document(
            "nightly-export",
            schedules=[DAILY_0900, {"type": "daily", "time": "25:00"}],
        ),
        document("last"),
    ]

    with pytest.raises(JobImportError) as caught:
        jobs_import(documents=documents, now=now, dry_run=False)

    assert caught.value.messages == [
        f'Job "nightly-export": schedules: schedule 2: time: {TIME_25}'
    ]
    assert row_counts() == before
    assert Job.objects.get(name="first").priority == 0


def test_every_invalid_job_is_reported(scripts_dir: Path, now: datetime) -> None:
    """All errors at once, nested fields as "group.key", in file order."""
    documents = [
        document("a", retry={"max_attempts": 0}),
        document("b"),
        document("c", script="missing.py", misfire={"policy": "never"}),
    ]
    with pytest.raises(JobImportError) as caught:
        jobs_import(documents=documents, now=now, dry_run=False)
    assert caught.value.messages == [
        'Job "a": retry.max_attempts: Ensure this value is greater than or equal to 1.',
        "Job \"c\": script: 'missing.py' does not exist in the scripts directory.",
        'Job "c": misfire.policy: "never" is not a valid choice.',
    ]
    assert row_counts() == (0, 0)


def test_a_job_without_a_name_is_named_by_position(
    scripts_dir: Path, now: datetime
) -> None:
    """No usable name: the message counts from 1 in the import."""
    documents = [document("a"), {"script": "ok.py", "schedules": [DAILY_0900]}, 7]
    with pytest.raises(JobImportError) as caught:
        jobs_import(documents=documents, now=now, dry_run=False)
    assert caught.value.messages == [
        "Job #2: name: This field is required.",
        "Job #3: Invalid data. Expected a dictionary, but got int.",
    ]


def test_unknown_keys_are_named(scripts_dir: Path, now: datetime) -> None:
    """A misspelt key is an error, not silently a default."""
    with pytest.raises(JobImportError) as caught:
        jobs_import(documents=[document("a", actve=False)], now=now, dry_run=False)
    assert caught.value.messages[0].startswith(
        'Job "a": Unknown field(s): actve. Known fields: name, '
    )


def test_duplicate_names_are_an_error(scripts_dir: Path, now: datetime) -> None:
    """Two documents with one name: refused, naming both positions."""
    documents = [document("a"), document("b"), document("a", priority=1)]
    with pytest.raises(JobImportError) as caught:
        jobs_import(documents=documents, now=now, dry_run=False)
    assert caught.value.messages == [
        'Job "a": ' + MSG_DUPLICATE.format(positions="#1, #3")
    ]
    assert row_counts() == (0, 0)


def test_dry_run_writes_nothing_but_says_what_would_happen(
    scripts_dir: Path, now: datetime
) -> None:
    """Dry run: same classification, no rows written or changed."""
    make_job(now, "old")
    before = row_counts()
    result = jobs_import(
        documents=[document("old", priority=4), document("new")],
        now=now,
        dry_run=True,
    )
    assert result == ImportResult(created=["new"], updated=["old"])
    assert row_counts() == before
    assert Job.objects.get(name="old").priority == 0


def test_dry_run_reports_errors_too(scripts_dir: Path, now: datetime) -> None:
    """A dry run validates exactly like a real import."""
    with pytest.raises(JobImportError) as caught:
        jobs_import(documents=[document("a", schedules=[])], now=now, dry_run=True)
    assert caught.value.messages == [
        "Job \"a\": schedules: A job needs at least one schedule (use type 'manual' "
        "for none)."
    ]


def test_a_failure_while_saving_rolls_back_the_jobs_saved_before(
    scripts_dir: Path, now: datetime
) -> None:
    """A save that fails late (a race) undoes the whole import, named."""
    make_job(now, "a")
    real_job_save = job_save

    def save_then_fail_on_c(
        *, job: Job, schedules: Any, now: datetime, **options: Any
    ) -> Job:
        if job.name == "c":
            # Stands for what only the database can tell at save time.
            raise ValidationError({"retry_max_attempts": ["Changed meanwhile."]})
        return real_job_save(job=job, schedules=schedules, now=now, **options)

    documents = [document("a", priority=1), document("b"), document("c")]
    with (
        mock.patch(
            "jobs.services.transfer.job_save",
            autospec=True,
            side_effect=save_then_fail_on_c,
        ),
        pytest.raises(JobImportError) as caught,
    ):
        jobs_import(documents=documents, now=now, dry_run=False)

    assert caught.value.messages == ['Job "c": retry.max_attempts: Changed meanwhile.']
    assert list(Job.objects.values_list("name", "priority")) == [("a", 0)]
