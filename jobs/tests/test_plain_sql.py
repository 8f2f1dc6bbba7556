"""The hot path's plain statements store and read exactly what the ORM does."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.models import Job, JobRun, RunEvent
from jobs.services import plain_sql
from jobs.tests.factories import SLOT, JobFactory, JobRunFactory, WorkerFactory

pytestmark = pytest.mark.django_db


def _values(obj: Any) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.fixture
def job(worker_scripts: Path) -> Job:
    # Fields of every kind that needs converting: JSON (args, env,
    # retry_exit_codes), booleans, datetimes, nullable columns.
    return JobFactory.create(
        name="convert",
        args=["--flag", "3", "ünï"],
        env={"A": "1", "B": "two"},
        retry_exit_codes=[2, 75],
        retry_on_timeout=True,
        retry_on_lost=False,
    )


def test_rows_with_parent_reads_what_the_orm_reads(job: Job) -> None:
    worker = WorkerFactory.create()
    runs = [
        JobRunFactory.create(
            job=job,
            status=JobRun.Status.RUNNING,
            worker=worker,
            parameters={"n": 5, "when": "today", "list": [1, None]},
            output="héllo\n",
            finished_at=None,
        ),
        JobRunFactory.create(job=job, attempt=2, exit_code=None, started_at=None),
    ]
    other = JobRunFactory.create(job=job, attempt=3)
    ids = [run.pk for run in runs]

    read = sorted(plain_sql.rows_with_parent(JobRun, "job", ids), key=lambda r: r.pk)

    expected = JobRun.objects.filter(pk__in=ids).select_related("job").order_by("pk")
    assert [_values(run) for run in read] == [_values(run) for run in expected]
    assert [_values(run.job) for run in read] == [_values(run.job) for run in expected]
    assert read[0].job.args == ["--flag", "3", "ünï"]
    assert (read[0].job.retry_on_timeout, read[0].job.retry_on_lost) == (True, False)
    assert other.pk not in {run.pk for run in read}
    with CaptureQueriesContext(connection) as queries:
        assert read[0].job.env == {"A": "1", "B": "two"}  # cached, not read again
        assert read[0]._state.adding is False
        assert read[0]._state.db == "default"
    assert len(queries) == 0
    assert plain_sql.rows_with_parent(JobRun, "job", []) == []


def test_update_where_changes_the_row_only_while_it_is_as_expected(job: Job) -> None:
    worker, other = WorkerFactory.create(), WorkerFactory.create()
    run = JobRunFactory.create(
        job=job, status=JobRun.Status.RUNNING, worker=worker, finished_at=None
    )
    changes = {
        "status": JobRun.Status.FAILED,
        "finished_at": SLOT + timedelta(seconds=3, microseconds=250),
        "exit_code": 2,
        "output": "it's done; 'quoted' %s",
        "parameters": {"k": [1, "x"]},
        "started_at": None,
    }
    assert (
        plain_sql.update_where(
            JobRun,
            pk=run.pk,
            expected={"status": JobRun.Status.RUNNING, "worker": other},
            changes=changes,
        )
        == 0
    )
    assert JobRun.objects.get(pk=run.pk).status == JobRun.Status.RUNNING

    assert (
        plain_sql.update_where(
            JobRun,
            pk=run.pk,
            expected={"status": JobRun.Status.RUNNING, "worker": worker},
            changes=changes,
        )
        == 1
    )
    stored = JobRun.objects.get(pk=run.pk)
    assert {name: getattr(stored, name) for name in changes} == changes


def test_update_where_takes_none_as_is_null(job: Job) -> None:
    run = JobRunFactory.create(job=job, exit_code=None)
    changed = plain_sql.update_where(
        JobRun, pk=run.pk, expected={"exit_code": None}, changes={"exit_code": 4}
    )
    again = plain_sql.update_where(
        JobRun, pk=run.pk, expected={"exit_code": None}, changes={"exit_code": 5}
    )
    assert (changed, again) == (1, 0)
    assert JobRun.objects.get(pk=run.pk).exit_code == 4


def test_insert_returning_ids_sets_the_keys_in_order(job: Job) -> None:
    runs = [JobRunFactory.create(job=job, attempt=n) for n in (1, 2, 3)]
    events = [
        RunEvent(
            run_id=run.pk,
            job_id=job.pk,
            kind=RunEvent.Kind.ENDED,
            status=run.status,
            reason_code="",
            attempt=index + 1,
            at=SLOT + timedelta(seconds=index),
        )
        for index, run in enumerate(runs)
    ]
    keys = plain_sql.insert_returning_ids(events)

    assert keys == [event.pk for event in events]
    stored = {event.pk: event for event in RunEvent.objects.filter(pk__in=keys)}
    for event in events:
        assert _values(stored[event.pk]) == _values(event)
        assert event._state.adding is False
    assert plain_sql.insert_returning_ids([]) == []
