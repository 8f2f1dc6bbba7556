"""factory_boy factories: the one place that knows how to build valid job rows.

`JobFactory` saves through `job_save`, as the admin and the API do, so a
built job has its schedules, its next run and version 1; the other
factories create rows directly with the smallest valid set of fields.
Users come from `accounts.tests.factories.UserFactory`. Call `.create()`
(typed: it returns the model) rather than the factory class itself.

    JobFactory.create(name="nightly", schedules=[DAILY_9], now=now, actor=alice)
    JobFactory.with_versions(times=("09:00", "10:00", "11:00"), now=now)
    JobRunFactory.create(job=job, status=JobRun.Status.FAILED)
    WorkerFactory.create(name="w1")
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import factory

from accounts.actors import Actor
from jobs.models import BlackoutCalendar, Job, JobRun, Secret, Worker
from jobs.services.jobs import job_save

# The root conftest's `now`: the instant a job is saved at unless told.
NOW = datetime(2026, 3, 1, tzinfo=UTC)
# The slot a recorded run is for unless told (run pages and endpoints).
SLOT = datetime(2026, 2, 28, 1, tzinfo=UTC)
EVERY_MINUTE: dict[str, Any] = {"type": "interval", "seconds": 60}


class JobFactory(factory.django.DjangoModelFactory[Job]):
    """A job saved through the service: `ok.py` every minute by default.

    Besides the model's fields it takes `job_save`'s: `schedules` (None:
    every minute; an empty list is refused, as `job_save` refuses it),
    `now` (default `NOW`), `actor`, `ip`, `note`, `audit_action` and
    `secrets` and `blackouts`.
    """

    class Meta:
        model = Job

    name = factory.Sequence(lambda n: f"job-{n}")
    script = "ok.py"

    @classmethod
    def _create(cls, model_class: type[Job], *args: Any, **kwargs: Any) -> Job:
        """Save through `job_save`, which validates and derives the rest."""
        schedules = kwargs.pop("schedules", None)
        if schedules is None:
            schedules = [EVERY_MINUTE]
        now = kwargs.pop("now", None) or NOW
        actor = kwargs.pop("actor", None)
        note = kwargs.pop("note", "")
        secrets: Iterable[Secret] | None = kwargs.pop("secrets", None)
        blackouts: Iterable[BlackoutCalendar] | None = kwargs.pop("blackouts", None)
        ip: str | None = kwargs.pop("ip", None)
        audit_action: str | None = kwargs.pop("audit_action", None)
        return job_save(
            job=model_class(*args, **kwargs),
            schedules=schedules,
            now=now,
            actor=actor,
            ip=ip,
            note=note,
            audit_action=audit_action,
            secrets=secrets,
            blackouts=blackouts,
        )

    @classmethod
    def with_versions(
        cls,
        *,
        times: Sequence[str] = ("09:00", "10:00", "11:00"),
        now: datetime = NOW,
        actor: Actor = None,
        **fields: Any,
    ) -> Job:
        """Return a job saved once per daily time: version N runs at times[N-1]."""
        first, *later = times
        job = cls.create(
            schedules=[{"type": "daily", "time": first}],
            now=now,
            actor=actor,
            **fields,
        )
        for time in later:
            job_save(
                job=Job.objects.get(pk=job.pk),
                schedules=[{"type": "daily", "time": time}],
                now=now,
                actor=actor,
            )
        return job


class WorkerFactory(factory.django.DjangoModelFactory[Worker]):
    """A live worker on host-a that started an hour before `SLOT`."""

    class Meta:
        model = Worker

    name = factory.Sequence(lambda n: f"worker-{n}")
    host = "host-a"
    pid = 4242
    started_at = SLOT - timedelta(hours=1)
    last_heartbeat_at = SLOT


class JobRunFactory(factory.django.DjangoModelFactory[JobRun]):
    """A recorded scheduled run of `SLOT`: it succeeded after 83 s, 1 s late.

    `job` is required (a run without its job tells a test nothing); pass
    `status`, the instants and the outcome to record another run (the
    instants are fixed, not derived from `scheduled_for`).
    """

    class Meta:
        model = JobRun

    scheduled_for = SLOT
    trigger = JobRun.Trigger.SCHEDULE
    status = JobRun.Status.SUCCEEDED
    queued_at = SLOT
    not_before = SLOT
    started_at = SLOT + timedelta(seconds=1)
    finished_at = SLOT + timedelta(seconds=84)
    exit_code = 0
