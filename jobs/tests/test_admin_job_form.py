"""The job form's table: which sections and read-only fields each role gets.

The pure functions are tested with hand-made rights; the roles (Admin,
Editor owning the job, Editor not owning it, Viewer) go through the real
job admin, so the rights it reads from `accounts.permissions` are covered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import RequestFactory

from accounts.roles import ADMIN, EDITOR, VIEWER
from accounts.services.roles import roles_sync
from accounts.tests.factories import UserFactory
from jobs.admin.job_form import (
    FIELD_AS,
    JOB_SECTIONS,
    NOTE_FIELD,
    READ_ONLY,
    JobFormRights,
    job_fieldsets,
    job_readonly_fields,
)
from jobs.forms import ScheduleForm
from jobs.models import Job
from jobs.tests.factories import JobFactory

MAIN: str | None = None
WHEN, RETRIES, LIMITS = ("When", "Retries", "Limits, concurrency and missed runs")
HOOKS = "Hooks"
PIPELINE = "Pipeline"
COMPUTED = ("upcoming", "permission_grants", "version_history", "timeline_link")
NOBODY = JobFormRights(
    is_saved=True,
    may_save=False,
    may_change_owner=False,
    may_choose_secrets=False,
    may_manage_permissions=False,
)


def titles(fieldsets: Sequence[tuple[Any, Any]]) -> list[str | None]:
    """Return the sections' titles, in order."""
    return [title for title, _ in fieldsets]


def fields_of(fieldsets: Sequence[tuple[Any, Any]], title: str | None) -> tuple:
    """Return the fields of the section titled `title`."""
    return next(options["fields"] for name, options in fieldsets if name == title)


# --- the table alone ------------------------------------------------------------


def test_a_saved_job_shows_its_fire_times_history_and_every_field() -> None:
    """The main sections in order; collapsed ones keep their class."""
    fieldsets = job_fieldsets(NOBODY)

    assert titles(fieldsets) == [
        MAIN,
        WHEN,
        PIPELINE,
        RETRIES,
        LIMITS,
        "Retention",
        HOOKS,
        "History",
    ]
    assert fields_of(fieldsets, MAIN) == (
        "name",
        "description",
        "script",
        "args",
        "env",
        "secrets",
        "working_dir",
        "owner",
    )
    assert fields_of(fieldsets, WHEN) == (
        "timezone",
        "is_active",
        "blackout_calendars",
        "blackout_action",
        "upcoming",
    )
    assert fieldsets[3][1]["classes"] == ("collapse",)
    assert "classes" not in fieldsets[0][1]


def test_the_add_form_has_no_fire_times_history_or_grants() -> None:
    """A new job has nothing to show there yet."""
    rights = JobFormRights(
        is_saved=False,
        may_save=True,
        may_change_owner=True,
        may_choose_secrets=True,
        may_manage_permissions=True,
    )

    fieldsets = job_fieldsets(rights)

    assert titles(fieldsets) == [
        MAIN,
        WHEN,
        PIPELINE,
        RETRIES,
        LIMITS,
        "Retention",
        HOOKS,
        "Change note",
    ]
    assert fields_of(fieldsets, WHEN) == (
        "timezone",
        "is_active",
        "blackout_calendars",
        "blackout_action",
    )


def test_each_right_unlocks_its_own_part() -> None:
    """Saving adds the note; owner and secrets open; grants show."""
    rights = JobFormRights(
        is_saved=True,
        may_save=True,
        may_change_owner=True,
        may_choose_secrets=True,
        may_manage_permissions=True,
    )

    assert titles(job_fieldsets(rights))[-3:] == [
        "Permissions",
        "History",
        "Change note",
    ]
    assert job_readonly_fields(rights) == COMPUTED
    assert job_readonly_fields(NOBODY) == (
        "upcoming",
        "secrets",
        "permission_grants",
        "version_history",
        "timeline_link",
        "owner",
        "priority_level",
    )
    assert "priority_level" in fields_of(job_fieldsets(NOBODY), LIMITS)
    assert "priority" in fields_of(job_fieldsets(rights), LIMITS)


def test_every_field_in_the_table_is_a_job_field_or_an_admin_column() -> None:
    """No typo can hide a field: each name is on the model or the admin."""
    model_admin = admin.site._registry[Job]
    model_fields = {field.name for field in Job._meta.get_fields()}
    names = {name for section in JOB_SECTIONS for name in section.fields}
    names |= {alias for alias, _ in FIELD_AS.values()}

    unknown = {
        name
        for name in names - model_fields - {NOTE_FIELD}
        if not callable(getattr(model_admin, name, None))
    }

    assert unknown == set()
    assert set(READ_ONLY) <= names


# --- each role through the job admin ------------------------------------------


@pytest.fixture
def users(db: None, now: datetime) -> dict[str, User]:
    """Return one staff user per role; the Editor "owner" owns the job."""
    roles_sync(now=now)
    users = {}
    for username, role in [
        ("admin", ADMIN),
        ("owner", EDITOR),
        ("editor", EDITOR),
        ("viewer", VIEWER),
    ]:
        users[username] = UserFactory.staff(username, role)
    return users


@pytest.fixture
def job(scripts_dir: Path, users: dict[str, User], now: datetime) -> Job:
    """Return a saved job owned by the Editor "owner"."""
    return JobFactory.create(
        name="nightly",
        owner=users["owner"],
        schedules=[{"type": "daily", "time": "09:00"}],
        now=now,
    )


def form_for(user: User, job: Job | None) -> tuple[list, tuple[str, ...]]:
    """Return the job admin's section titles and read-only fields for `user`."""
    request = RequestFactory().get("/")
    # A fresh instance: Django caches permissions per user object.
    request.user = User.objects.get(pk=user.pk)
    model_admin = admin.site._registry[Job]
    return (
        titles(model_admin.get_fieldsets(request, job)),
        tuple(model_admin.get_readonly_fields(request, job)),
    )


EDITOR_READ_ONLY = (
    "upcoming",
    "secrets",
    "permission_grants",
    "version_history",
    "timeline_link",
    "owner",
)


@pytest.mark.parametrize(
    ("role", "sections", "read_only"),
    [
        ("admin", ["Permissions", "History", "Change note"], COMPUTED),
        ("owner", ["History", "Change note"], EDITOR_READ_ONLY),
        ("editor", ["History"], (*EDITOR_READ_ONLY, "priority_level")),
        ("viewer", ["History"], (*EDITOR_READ_ONLY, "priority_level")),
    ],
)
def test_each_role_gets_its_sections_and_read_only_fields_on_a_job(
    users: dict[str, User],
    job: Job,
    role: str,
    sections: list[str],
    read_only: tuple[str, ...],
) -> None:
    """Only an Admin sees grants and edits owner and secrets; savers add a note."""
    assert form_for(users[role], job) == (
        [MAIN, WHEN, PIPELINE, RETRIES, LIMITS, "Retention", HOOKS, *sections],
        read_only,
    )


@pytest.mark.parametrize(
    ("role", "sections", "read_only"),
    [
        ("admin", ["Change note"], COMPUTED),
        ("editor", ["Change note"], EDITOR_READ_ONLY),
        ("viewer", [], (*EDITOR_READ_ONLY, "priority_level")),
    ],
)
def test_each_role_gets_its_sections_and_read_only_fields_on_the_add_form(
    users: dict[str, User], role: str, sections: list[str], read_only: tuple[str, ...]
) -> None:
    """The add form: a note for those who may create; owner and secrets locked."""
    assert form_for(users[role], None) == (
        [MAIN, WHEN, PIPELINE, RETRIES, LIMITS, "Retention", HOOKS, *sections],
        read_only,
    )


def test_the_time_field_is_a_24_hour_text_box() -> None:
    """No browser time widget (12-hour in some locales, empties 25:00)."""
    html = str(ScheduleForm()["time"])
    assert 'type="text"' in html
    assert 'placeholder="HH:MM"' in html
    assert 'inputmode="numeric"' in html
    assert 'type="time"' not in html
