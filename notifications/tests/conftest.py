"""Fixtures for notifications: jobs, ended runs with their events, channels."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from jobs.models import Job, JobRun, RunEvent
from jobs.services.events import run_events_announce
from jobs.tests.factories import JobFactory, JobRunFactory
from notifications.models import Channel, Rule
from notifications.services.channels import channel_save

EXIT_CODES = {"failed": 2, "succeeded": 0}
REASON_CODES = {"failed": "exit_code", "timed_out": "timed_out", "lost": "worker_lost"}


@pytest.fixture
def job(scripts_dir: Any) -> Job:
    """Return a saved job named "nightly-report"."""
    return JobFactory.create(name="nightly-report")


@pytest.fixture
def end_run(job: Job, now: datetime) -> Callable[..., JobRun]:
    """Return a function recording an ended run of `job` and its event."""
    count = [0]

    def end(status: str = "failed", *, kind: str = "ended", output: str = "") -> JobRun:
        count[0] += 1
        slot = now + timedelta(minutes=count[0])
        run = JobRunFactory.create(
            job=job,
            scheduled_for=slot,
            queued_at=slot,
            not_before=slot,
            started_at=slot + timedelta(seconds=1),
            finished_at=slot + timedelta(seconds=3),
            status=status,
            exit_code=EXIT_CODES.get(status),
            reason="Exit code 2" if status == "failed" else "",
            reason_code=REASON_CODES.get(status, ""),
            output=output,
        )
        event = RunEvent.objects.create(
            run=run,
            job=job,
            kind=kind,
            status=status,
            reason_code=run.reason_code,
            attempt=1,
            at=slot + timedelta(seconds=3),
        )
        # As `jobs.services.outcomes` writes an event: with its receipts.
        run_events_announce(event_ids=[event.pk])
        return run

    return end


@pytest.fixture
def make_channel(now: datetime) -> Callable[..., Channel]:
    """Return a function saving a channel (and a rule) through the service."""

    def make(
        kind: str = "webhook",
        *,
        secrets: dict[str, str] | None = None,
        config: dict[str, Any] | None = None,
        triggers: list[str] | None = None,
        job: Job | None = None,
        **fields: Any,
    ) -> Channel:
        channel = channel_save(
            channel=Channel(
                name=fields.pop("name", f"{kind} channel"),
                kind=kind,
                config=config or {},
                **fields,
            ),
            secrets=secrets,
            now=now,
        )
        Rule.objects.create(
            channel=channel,
            job=job,
            triggers=triggers or ["failure", "timeout", "recovered"],
        )
        return channel

    return make
