"""The one place where a run ends: its terminal state and its event.

`runs_end` is the only function that writes a terminal status (succeeded,
failed, timed_out, cancelled, lost, skipped, blocked) to a run, and it
inserts one `RunEvent` per run that ended in the same transaction, so that
a consumer (`jobs.services.events`) never misses an end nor sees one that
was rolled back. `run_retry_announce` is the only writer of "retry
scheduled" events. `jobs/tests/test_services_outcomes_writer.py` holds the code
base to that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from jobs.models import JobRun, RunEvent
from jobs.services import plain_sql
from jobs.services.events import run_events_announce

TERMINAL = frozenset(JobRun.FINISHED)


@dataclass(frozen=True)
class RunEnd:
    """End `run` if it is still as `expected`; `changes` are the new columns.

    `expected` holds the race guard (say ``status=running, worker=w``), and
    `changes` the terminal `status` with `finished_at`, `reason`,
    `reason_code` and whatever else the end records.
    """

    run: JobRun
    expected: dict[str, Any]
    changes: dict[str, Any] = field(default_factory=dict)


def runs_end(
    *,
    now: datetime,
    end: RunEnd | None = None,
    records: Sequence[JobRun] = (),
    is_history: bool = False,
) -> list[JobRun]:
    """Write terminal run states and their events; return the runs that ended.

    `end` is a conditional UPDATE of one run: it changes nothing (and
    returns no run) unless the run is still as expected, so that of two
    racing writers only one ends the run and only one event is written.
    `records` are new runs, inserted in one statement; those already ended
    (skipped or blocked slots) get their events in one more statement.
    With `is_history` the records are runs that ended before this portal
    knew of them (`import_legacy`): no event is written, so consumers such
    as notifications do not react to years-old runs. Joins the caller's
    transaction, or opens one.
    """
    if end is not None and end.changes.get("status") not in TERMINAL:
        raise ValueError(
            f"runs_end writes terminal states only, not {end.changes.get('status')!r}"
        )
    with transaction.atomic(savepoint=False):
        ended = _update(end) if end is not None else []
        if records:
            plain_sql.insert_returning_ids(JobRun, records)
            ended += [record for record in records if record.status in TERMINAL]
        if ended and not is_history:
            _announce(ended, kind=RunEvent.Kind.ENDED, at=now)
    return ended


def run_retry_announce(*, retry: JobRun, now: datetime) -> None:
    """Record that `retry` (a queued next attempt) was scheduled."""
    _announce([retry], kind=RunEvent.Kind.RETRY_SCHEDULED, at=now)


def _update(end: RunEnd) -> list[JobRun]:
    """Apply `end` if its run is still as expected; return [run] or []."""
    run = end.run
    updated = plain_sql.update_where(
        JobRun, pk=run.pk, expected=end.expected, changes=end.changes
    )
    if updated != 1:
        return []
    for name, value in end.changes.items():
        setattr(run, name, value)
    return [run]


def _announce(runs: Iterable[JobRun], *, kind: str, at: datetime) -> None:
    """Insert one event per run, and each consumer's receipts of them.

    Two statements, whatever the number of runs.
    """
    events = [
        RunEvent(
            run_id=run.pk,
            job_id=run.job_id,
            kind=kind,
            status=run.status,
            reason_code=run.reason_code,
            attempt=run.attempt,
            at=at,
        )
        for run in runs
    ]
    run_events_announce(event_ids=plain_sql.insert_returning_ids(RunEvent, events))
