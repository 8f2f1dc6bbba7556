"""The hot path's plain statements store and read exactly what the ORM does."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.models import Job, JobRun, RunEvent, Worker
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

    def end_on(on: Worker) -> int:
        expected = {"status": JobRun.Status.RUNNING, "worker": on}
        return plain_sql.update_where(
            JobRun, pk=run.pk, expected=expected, changes=changes
        )

    assert end_on(other) == 0
    assert JobRun.objects.get(pk=run.pk).status == JobRun.Status.RUNNING
    assert end_on(worker) == 1
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


def _ended(run: JobRun, count: int) -> list[RunEvent]:
    """Return `count` unsaved "ended" events of `run`, a second apart."""
    return [
        RunEvent(
            run_id=run.pk,
            job_id=run.job_id,
            kind=RunEvent.Kind.ENDED,
            status=run.status,
            reason_code="",
            attempt=index + 1,
            at=SLOT + timedelta(seconds=index),
        )
        for index in range(count)
    ]


def test_insert_returning_ids_sets_the_keys_in_order(job: Job) -> None:
    events = _ended(JobRunFactory.create(job=job), 3)
    keys = plain_sql.insert_returning_ids(RunEvent, events)

    assert keys == [event.pk for event in events]
    stored = {event.pk: event for event in RunEvent.objects.filter(pk__in=keys)}
    for event in events:
        assert _values(stored[event.pk]) == _values(event)
        assert event._state.adding is False
    assert plain_sql.insert_returning_ids(RunEvent, []) == []


def test_update_each_counts_the_rows_changed_across_shapes(job: Job) -> None:
    """Rows of different shapes go in separate statements; the count is the sum."""
    runs = [JobRunFactory.create(job=job, attempt=n, exit_code=None) for n in (1, 2, 3)]
    updates = [
        plain_sql.Update(runs[0].pk, {"exit_code": None}, {"exit_code": 1}),
        plain_sql.Update(runs[1].pk, {"exit_code": None}, {"exit_code": 2}),
        # Another shape: compared with a value, two columns changed.
        plain_sql.Update(runs[2].pk, {"exit_code": 9}, {"exit_code": 3, "output": "-"}),
        # As expected by nothing: not changed, not counted.
        plain_sql.Update(runs[2].pk, {"exit_code": None}, {"exit_code": 4}),
    ]
    assert plain_sql.update_each(JobRun, updates) == 3
    stored = {run.pk: run.exit_code for run in JobRun.objects.filter(job=job)}
    assert stored == {runs[0].pk: 1, runs[1].pk: 2, runs[2].pk: 4}


def test_insert_returning_ids_refuses_another_models_row(job: Job) -> None:
    with pytest.raises(TypeError, match="another model's row"):
        plain_sql.insert_returning_ids(JobRun, [job])


def test_insert_returning_ids_splits_at_the_parameter_limit(job: Job) -> None:
    """More rows than one statement may bind (SQLite: 999 parameters)."""
    events = _ended(JobRunFactory.create(job=job), 400)
    keys = plain_sql.insert_returning_ids(RunEvent, events)
    assert len(set(keys)) == 400
    stored = dict(RunEvent.objects.filter(pk__in=keys).values_list("pk", "at"))
    assert [stored[event.pk] for event in events] == [event.at for event in events]
