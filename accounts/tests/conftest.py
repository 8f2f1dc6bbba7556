"""Fixtures for the accounts tests: role groups, users per role, jobs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from accounts.roles import ROLES
from accounts.services.roles import roles_sync
from jobs.models import Job
from jobs.services.jobs import job_save

PASSWORD = "correct horse battery staple"
DAILY_9 = {"type": "daily", "time": "09:00"}


@pytest.fixture
def roles(db: None, now: datetime) -> dict[str, Group]:
    """Return the role groups, with the permissions the mapping gives them.

    The data migration creates them, but a transactional test elsewhere
    flushes the database; syncing again is idempotent.
    """
    roles_sync(now=now)
    return {group.name: group for group in Group.objects.filter(name__in=ROLES)}


@pytest.fixture
def make_user(roles: dict[str, Group]) -> Callable[..., User]:
    """Return a function creating a staff user, in a role if given."""

    def make(username: str, role: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", True)
        user = User.objects.create_user(username=username, password=PASSWORD, **fields)
        if role is not None:
            user.groups.add(roles[role])
        return user

    return make


@pytest.fixture
def make_job(scripts_dir: Path, now: datetime) -> Callable[..., Job]:
    """Return a function saving a job through the service."""

    def make(
        name: str = "nightly",
        *,
        actor: User | None = None,
        schedules: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> Job:
        fields.setdefault("script", "ok.py")
        return job_save(
            job=Job(name=name, **fields),
            schedules=schedules or [DAILY_9],
            now=now,
            actor=actor,
        )

    return make
