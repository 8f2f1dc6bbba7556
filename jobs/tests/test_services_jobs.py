"""Job services: validation, schedules kept in wall-clock terms, next run."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from accounts.roles import ADMIN, EDITOR
from accounts.services.roles import roles_sync
from accounts.tests.factories import UserFactory
from jobs.models import Job, Schedule
from jobs.services.jobs import (
    MSG_NO_SCHEDULES,
    MSG_OWNER_PERMISSION,
    JobOwnerPermissionError,
    job_save,
    job_schedule_refresh,
    job_set_active,
)
from jobs.tests.factories import JobFactory

pytestmark = pytest.mark.django_db

DAILY_0900 = {"type": "daily", "time": "09:00"}


def make_job(now: datetime, schedules: list[dict[str, Any]], **fields: Any) -> Job:
    """Save a job through the service with sensible defaults."""
    fields.setdefault("name", "report")
    return JobFactory.create(schedules=schedules, now=now, **fields)


def test_daily_0900_hong_kong_is_stored_as_wall_time_and_fires_at_0100_utc(
    scripts_dir: Path, now: datetime
) -> None:
    """The schedule keeps '09:00' and the zone; only next_run_at is UTC."""
    job = make_job(now, [DAILY_0900], timezone="Asia/Hong_Kong")
    stored = Schedule.objects.get(job=job)
    assert stored.document == {"type": "daily", "time": "09:00"}
    assert Job.objects.get(pk=job.pk).timezone == "Asia/Hong_Kong"
    assert Job.objects.get(pk=job.pk).next_run_at == datetime(2026, 3, 1, 1, tzinfo=UTC)


def test_earliest_of_several_schedules_is_the_next_run(
    scripts_dir: Path, now: datetime
) -> None:
    """Two schedules: next_run_at is the earlier fire instant of the two."""
    job = make_job(
        now,
        [DAILY_0900, {"type": "hourly", "minute": 30, "timezone": "UTC"}],
        timezone="Asia/Hong_Kong",
    )
    assert job.next_run_at == datetime(2026, 3, 1, 0, 30, tzinfo=UTC)


def test_invalid_schedule_names_the_field_and_writes_nothing(
    scripts_dir: Path, now: datetime
) -> None:
    """'25:00' is refused with the engine's message; no job row is written."""
    with pytest.raises(ValidationError) as caught:
        make_job(now, [{"type": "daily", "time": "25:00"}])
    assert caught.value.message_dict["schedules"] == [
        "time: Time must be 'HH:MM' in 24-hour form (00:00 to 23:59), got '25:00'."
    ]
    assert Job.objects.count() == 0


def test_second_of_two_schedules_is_named_in_the_error(
    scripts_dir: Path, now: datetime
) -> None:
    """With several schedules the message says which one is wrong."""
    with pytest.raises(ValidationError) as caught:
        make_job(now, [DAILY_0900, {"type": "hourly", "minute": 60}])
    assert caught.value.message_dict["schedules"] == [
        "schedule 2: minute: Minute must be from 0 to 59, got 60."
    ]


def test_a_job_needs_a_schedule(scripts_dir: Path, now: datetime) -> None:
    """An empty schedule list is refused with a message saying what to do."""
    with pytest.raises(ValidationError) as caught:
        make_job(now, [])
    assert caught.value.message_dict["schedules"] == [MSG_NO_SCHEDULES]


def test_unknown_timezone_is_refused(scripts_dir: Path, now: datetime) -> None:
    """The job's zone must be an IANA name."""
    with pytest.raises(ValidationError) as caught:
        make_job(now, [DAILY_0900], timezone="Mars/Base")
    assert caught.value.message_dict["timezone"] == [
        "Unknown timezone 'Mars/Base'; use an IANA name like 'Asia/Hong_Kong'."
    ]


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("../etc/passwd", "'../etc/passwd' resolves outside the scripts directory."),
        (
            "/etc/passwd",
            "Use a path relative to the scripts directory, not '/etc/passwd'.",
        ),
        ("missing.py", "'missing.py' does not exist in the scripts directory."),
        ("nested", "'nested' is not a regular file."),
    ],
)
def test_script_outside_or_missing_is_refused(
    scripts_dir: Path, now: datetime, script: str, message: str
) -> None:
    """The script must be a file inside the scripts directory."""
    job = Job(name="bad", script=script)
    with pytest.raises(ValidationError) as caught:
        job_save(job=job, schedules=[DAILY_0900], now=now)
    assert caught.value.message_dict["script"] == [message]


def test_symlink_escaping_the_scripts_directory_is_refused(
    scripts_dir: Path, now: datetime, tmp_path: Path
) -> None:
    """A symlink inside the folder pointing outside it does not pass."""
    outside = tmp_path / "outside.py"
    outside.write_text("print('escaped')\n")
    (scripts_dir / "link.py").symlink_to(outside)
    with pytest.raises(ValidationError) as caught:
        job_save(job=Job(name="bad", script="link.py"), schedules=[DAILY_0900], now=now)
    assert caught.value.message_dict["script"] == [
        "'link.py' resolves outside the scripts directory."
    ]


def test_changing_the_timezone_moves_the_next_run(
    scripts_dir: Path, now: datetime
) -> None:
    """Same wall time, other zone: next_run_at follows the new zone."""
    job = make_job(now, [DAILY_0900], timezone="Asia/Hong_Kong")
    job.timezone = "Europe/London"
    job_save(job=job, schedules=None, now=now)
    assert Job.objects.get(pk=job.pk).next_run_at == datetime(2026, 3, 1, 9, tzinfo=UTC)


def test_deactivating_clears_and_activating_restores_the_next_run(
    scripts_dir: Path, now: datetime
) -> None:
    """An inactive job has no next run; activation computes it from now."""
    job = make_job(now, [DAILY_0900])
    job_set_active(job=job, is_active=False, now=now)
    assert Job.objects.get(pk=job.pk).next_run_at is None
    later = datetime(2026, 3, 5, 3, tzinfo=UTC)
    job_set_active(job=job, is_active=True, now=later)
    assert Job.objects.get(pk=job.pk).next_run_at == datetime(2026, 3, 6, 1, tzinfo=UTC)


def test_manual_only_job_has_no_next_run(scripts_dir: Path, now: datetime) -> None:
    """A manual schedule never fires by itself."""
    job = make_job(now, [{"type": "manual"}])
    assert job.next_run_at is None


def test_unusable_stored_schedule_is_recorded_not_raised(
    scripts_dir: Path, now: datetime
) -> None:
    """A schedule broken behind the service's back parks the job with a reason."""
    job = make_job(now, [DAILY_0900])
    Schedule.objects.filter(job=job).update(document={"type": "daily", "time": "99:99"})
    job_schedule_refresh(job=job, now=now)
    job.refresh_from_db()
    assert job.next_run_at is None
    assert job.schedule_error == (
        "time: Time must be 'HH:MM' in 24-hour form (00:00 to 23:59), got '99:99'."
    )


# --- who may change the owner -------------------------------------------------


@pytest.fixture
def people(db: None, now: datetime) -> dict[str, User]:
    """Return an Admin "adam" and the Editors "olive" and "ed"."""
    roles_sync(now=now)
    people = {}
    for username, role in [("adam", ADMIN), ("olive", EDITOR), ("ed", EDITOR)]:
        user = UserFactory.staff(username, role)
        # A fresh instance: Django caches permissions per user object.
        people[username] = User.objects.get(pk=user.pk)
    return people


def owned_job(now: datetime, owner: User) -> Job:
    """Save a daily job created by `owner` (who so owns it)."""
    job = Job(name="report", script="ok.py")
    return job_save(job=job, schedules=[DAILY_0900], now=now, actor=owner)


def test_an_editor_may_not_hand_the_job_over(
    scripts_dir: Path, now: datetime, people: dict[str, User]
) -> None:
    """Ownership carries rights: the owner stays and nothing is written."""
    job = owned_job(now, people["olive"])
    job.owner = people["ed"]
    job.description = "changed"

    with pytest.raises(JobOwnerPermissionError, match=MSG_OWNER_PERMISSION):
        job_save(job=job, schedules=None, now=now, actor=people["olive"])

    stored = Job.objects.get(pk=job.pk)
    assert (stored.owner, stored.description) == (people["olive"], "")


def test_an_editor_may_not_create_a_job_for_someone_else(
    scripts_dir: Path, now: datetime, people: dict[str, User]
) -> None:
    """Naming another owner of a new job is handing it over too."""
    job = Job(name="report", script="ok.py", owner=people["ed"])

    with pytest.raises(JobOwnerPermissionError, match=MSG_OWNER_PERMISSION):
        job_save(job=job, schedules=[DAILY_0900], now=now, actor=people["olive"])

    assert Job.objects.exists() is False


def test_an_editor_may_save_a_job_naming_its_owner_unchanged(
    scripts_dir: Path, now: datetime, people: dict[str, User]
) -> None:
    """Only a change is refused: the owner's other edits go through."""
    job = owned_job(now, people["olive"])
    job.description = "changed"

    job_save(job=job, schedules=None, now=now, actor=people["olive"])

    assert Job.objects.get(pk=job.pk).description == "changed"


@pytest.mark.parametrize("actor", ["adam", None])
def test_an_admin_or_a_command_may_change_the_owner(
    scripts_dir: Path, now: datetime, people: dict[str, User], actor: str | None
) -> None:
    """The Admin role grants rights; commands act for the operator."""
    job = owned_job(now, people["olive"])
    job.owner = people["ed"]

    job_save(job=job, schedules=None, now=now, actor=people[actor] if actor else None)

    assert Job.objects.get(pk=job.pk).owner == people["ed"]
