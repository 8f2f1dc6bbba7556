"""The worker's plain-SQL probes agree with the ORM, to the microsecond."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from jobs.models import Job, JobRun, Worker
from jobs.services import probes
from jobs.services.runs import job_run_now
from jobs.tests.factories import JobRunFactory, WorkerFactory

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
    assert probes.next_instants(after=at - US) == (at, at + US)
    assert probes.next_instants(after=at) == (None, at + US)
    assert probes.next_instants(after=at + US) == (None, None)


def test_a_run_of_a_silent_worker_is_found_and_no_other(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """As runs_recover_lost's own query: no worker, or one silent since the cutoff."""
    cutoff = now - timedelta(seconds=60)
    me = WorkerFactory.create(last_heartbeat_at=now - timedelta(hours=1))
    fresh = WorkerFactory.create(last_heartbeat_at=now)
    silent = WorkerFactory.create(last_heartbeat_at=cutoff - timedelta(seconds=1))
    job = make_job()

    def running_on(worker: Worker | None, attempt: int) -> JobRun:
        return JobRunFactory.create(
            job=job,
            attempt=attempt,
            status=JobRun.Status.RUNNING,
            worker=worker,
            finished_at=None,
        )

    def found() -> bool:
        return probes.any_run_of_a_silent_worker(cutoff=cutoff, exclude_worker_id=me.pk)

    running_on(me, 1)  # silent, but the asking worker's own
    running_on(fresh, 2)
    JobRunFactory.create(job=job, attempt=3, worker=silent)  # ended
    assert found() is False
    orphan = running_on(None, 4)
    assert found() is True
    orphan.delete()
    running_on(silent, 5)
    assert found() is True


def test_the_runs_running_on_a_worker_are_its_running_runs_only(
    make_job: Callable[..., Job],
) -> None:
    me, other = WorkerFactory.create(), WorkerFactory.create()
    job = make_job()
    mine = JobRunFactory.create(
        job=job, attempt=1, status=JobRun.Status.RUNNING, worker=me, finished_at=None
    )
    JobRunFactory.create(job=job, attempt=2, worker=me)  # ended
    JobRunFactory.create(
        job=job, attempt=3, status=JobRun.Status.RUNNING, worker=other, finished_at=None
    )
    assert probes.runs_running_on(worker_id=me.pk) == {mine.pk}
