"""Run and worker rows for tests of the pages and endpoints that show runs.

Thin names over `jobs.tests.factories`, which holds the defaults.
"""

from __future__ import annotations

from typing import Any

from jobs.models import Job, JobRun, Worker
from jobs.tests.factories import SLOT, JobRunFactory, WorkerFactory

__all__ = ["SLOT", "make_run", "make_worker"]


def make_worker(name: str) -> Worker:
    """Return a live worker on host-a that started an hour before SLOT."""
    return WorkerFactory.create(name=name)


def make_run(job: Job, **fields: Any) -> JobRun:
    """Record a run of `job`: by default it succeeded after 83 s, 1 s late."""
    return JobRunFactory.create(job=job, **fields)
