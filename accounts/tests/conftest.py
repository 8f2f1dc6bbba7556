"""Fixtures for the accounts tests: jobs (role groups and users: root conftest)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from accounts.tests.users import PASSWORD  # noqa: F401 - tests import it here
from jobs.models import Job
from jobs.services.jobs import job_save

DAILY_9 = {"type": "daily", "time": "09:00"}


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
