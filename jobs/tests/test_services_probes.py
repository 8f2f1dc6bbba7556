"""The worker's plain-SQL probes agree with the ORM, to the microsecond."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from jobs.models import Job, JobRun
from jobs.services import probes
from jobs.services.runs import job_run_now

pytestmark = pytest.mark.django_db

US = timedelta(microseconds=1)


def test_a_job_is_due_from_its_next_run_on(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """Due at next_run_at exactly, not one microsecond before."""
    job = make_job()
    at = now + timedelta(seconds=1, microseconds=250)
    Job.objects.filter(pk=job.pk).update(next_run_at=at)
    assert probes.any_job_due(now=at - US) is False
    assert probes.any_job_due(now=at) is True
    Job.objects.filter(pk=job.pk).update(is_active=False)
    assert probes.any_job_due(now=at) is False


def test_a_queued_run_is_startable_from_its_not_before_on(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """Startable at not_before exactly; a running run is not startable."""
    run = job_run_now(job=make_job(), requested_by=None, now=now)
    assert probes.any_run_startable(now=now - US) is False
    assert probes.any_run_startable(now=now) is True
    JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.RUNNING)
    assert probes.any_run_startable(now=now) is False


def test_the_next_instants_are_strictly_after(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """MIN over later rows only, returned as aware UTC datetimes."""
    job = make_job()
    at = now + timedelta(seconds=3, microseconds=7)
    Job.objects.filter(pk=job.pk).update(next_run_at=at)
    run = job_run_now(job=job, requested_by=None, now=now)
    JobRun.objects.filter(pk=run.pk).update(not_before=at + US)
    assert probes.next_slot_at(after=at - US) == at
    assert probes.next_slot_at(after=at) is None
    assert probes.next_queued_at(after=at) == at + US
    assert probes.next_queued_at(after=at + US) is None
