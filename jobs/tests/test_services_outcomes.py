"""Run events: every end of a run leaves exactly one event, written with it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from jobs import policies, reasons
from jobs.models import Job, JobRun, RunEvent, Worker
from jobs.policies import Outcome
from jobs.runner import ProcessResult
from jobs.services import outcomes
from jobs.services.runs import (
    RunStateError,
    job_run_now,
    run_block,
    run_finish,
    run_mark_failed,
    run_request_cancel,
)
from jobs.services.workers import runs_recover_lost, worker_register
from jobs.tests.conftest import FakeClock
from jobs.worker import WorkerLoop

pytestmark = pytest.mark.django_db

ENDED = RunEvent.Kind.ENDED
RETRY = RunEvent.Kind.RETRY_SCHEDULED


def events() -> list[tuple[int, str, str, str, int]]:
    """Return (run, kind, status, reason code, attempt) of every event."""
    return list(
        RunEvent.objects.order_by("pk").values_list(
            "run_id", "kind", "status", "reason_code", "attempt"
        )
    )


def running(job: Job, worker: Worker, at: datetime, **fields: object) -> JobRun:
    """Create a run of `job` running on `worker` since `at`."""
    values: dict[str, object] = {
        "scheduled_for": at,
        "trigger": JobRun.Trigger.SCHEDULE,
        "queued_at": at,
        "not_before": at,
        "started_at": at,
    }
    values.update(fields)
    return JobRun.objects.create(
        job=job, status=JobRun.Status.RUNNING, worker=worker, **values
    )


@pytest.fixture
def worker(now: datetime) -> Worker:
    """Return a registered worker row."""
    return worker_register(name="w1", host="h", pid=1, now=now)


def test_the_model_choices_are_the_policies_values() -> None:
    """The pure modules' strings are the ones the models store."""
    assert {c.value for c in JobRun.ReasonCode} == set(reasons.LABELS)
    assert set(JobRun.FINISHED) == {
        policies.SUCCEEDED,
        policies.FAILED,
        policies.TIMED_OUT,
        policies.CANCELLED,
        policies.LOST,
        policies.SKIPPED,
        policies.BLOCKED,
    }
    assert {c.value for c in Job.MisfirePolicy} == {
        policies.RUN_ONCE,
        policies.SKIP,
        policies.RUN_ALL,
    }
    assert {c.value for c in Job.ConcurrencyPolicy} == {
        policies.ALLOW,
        policies.FORBID,
        policies.REPLACE,
    }
    assert Job.RetryBackoff.EXPONENTIAL == policies.EXPONENTIAL


# --- operators ------------------------------------------------------------------


def test_cancelling_a_queued_run_ends_it_with_one_event(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """Queued → cancelled at once: one ended event, cancelled_by_user."""
    run = job_run_now(job=make_job(), requested_by=None, now=now)
    run_request_cancel(run=run, requested_by=None, now=now)
    assert events() == [(run.pk, ENDED, "cancelled", "cancelled_by_user", 1)]
    run.refresh_from_db()
    assert run.reason_code == JobRun.ReasonCode.CANCELLED_BY_USER


def test_cancelling_a_running_run_emits_when_the_worker_records_it(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """The request writes no event; the worker's cancelled result does."""
    run = running(make_job(), worker, now)
    run_request_cancel(run=run, requested_by=None, now=now)
    assert events() == []
    outcome, mode = policies.outcome_for(
        ProcessResult(-15, False, True, "", 0, 0.1),
        cause=policies.CAUSE_CANCEL,
        worker="w1",
        timeout_seconds=None,
    )
    run_finish(run=run, worker=worker, outcome=outcome, now=now, retry=mode)
    assert events() == [(run.pk, ENDED, "cancelled", "cancelled_by_user", 1)]


def test_asking_twice_or_too_late_writes_no_second_event(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """Cancelling a cancelled run raises and adds nothing."""
    run = job_run_now(job=make_job(), requested_by=None, now=now)
    run_request_cancel(run=run, requested_by=None, now=now)
    run_request_cancel(run=run, requested_by=None, now=now)  # changes nothing
    with pytest.raises(RunStateError):
        run_mark_failed(run=run, requested_by=None, now=now)
    assert len(events()) == 1


def test_marking_failed_emits_marked_failed(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """An operator's mark-failed: one failed event, marked_failed."""
    user = UserFactory.create(username="alice")
    run = running(make_job(), worker, now)
    run_mark_failed(run=run, requested_by=user, now=now)
    assert events() == [(run.pk, ENDED, "failed", "marked_failed", 1)]


def test_a_race_loser_writes_no_event(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """Marked failed first: the worker's late result ends nothing."""
    run = running(make_job(), worker, now)
    run_mark_failed(run=run, requested_by=None, now=now)
    late = Outcome(JobRun.Status.SUCCEEDED, exit_code=0)
    assert run_finish(run=run, worker=worker, outcome=late, now=now) is None
    assert [e[2] for e in events()] == ["failed"]
    other = Worker.objects.create(
        name="w2", host="h", pid=2, started_at=now, last_heartbeat_at=now
    )
    stolen = running(make_job("other"), other, now)
    assert not run_block(run=stolen, worker=worker, reason="x", now=now)
    assert len(events()) == 1


# --- the worker's results ---------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "status", "code"),
    [
        (ProcessResult(0, False, False, "", 0, 0.1), "succeeded", ""),
        (ProcessResult(2, False, False, "", 0, 0.1), "failed", "exit_code"),
        (ProcessResult(-9, False, False, "", 0, 0.1), "failed", "signal"),
        (ProcessResult(-15, True, False, "", 0, 0.1), "timed_out", "timed_out"),
    ],
)
def test_finishing_emits_the_status_and_code(
    make_job: Callable[..., Job],
    worker: Worker,
    now: datetime,
    result: ProcessResult,
    status: str,
    code: str,
) -> None:
    """Succeeded, failed (exit code, signal), timed out: one event each."""
    run = running(make_job(), worker, now)
    outcome, mode = policies.outcome_for(
        result, cause="", worker="w1", timeout_seconds=5
    )
    run_finish(run=run, worker=worker, outcome=outcome, now=now, retry=mode)
    assert events() == [(run.pk, ENDED, status, code, 1)]
    run.refresh_from_db()
    assert (run.status, run.reason_code) == (status, code)


def test_a_retry_is_announced_after_the_end(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """Failed with attempts left: ended, then retry_scheduled for attempt 2."""
    run = running(make_job(retry_max_attempts=2, retry_delay_seconds=5), worker, now)
    outcome = Outcome(
        JobRun.Status.FAILED, exit_code=1, reason="x", reason_code="exit_code"
    )
    retry = run_finish(run=run, worker=worker, outcome=outcome, now=now)
    assert retry is not None
    assert events() == [
        (run.pk, ENDED, "failed", "exit_code", 1),
        (retry.pk, RETRY, "queued", "", 2),
    ]


def test_a_shutdown_emits_lost_and_its_retry(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """A worker shutting down: lost (shutdown), then the retry at once."""
    run = running(make_job(), worker, now)
    outcome, mode = policies.outcome_for(
        ProcessResult(-15, False, True, "", 0, 0.1),
        cause=policies.CAUSE_SHUTDOWN,
        worker="w1",
        timeout_seconds=None,
    )
    retry = run_finish(run=run, worker=worker, outcome=outcome, now=now, retry=mode)
    assert retry is not None
    assert events() == [
        (run.pk, ENDED, "lost", "shutdown", 1),
        (retry.pk, RETRY, "queued", "", 2),
    ]


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        (reasons.CodedReason("Nope.", code="script_unapproved"), "script_unapproved"),
        (reasons.CodedReason("Bad.", code="parameters_invalid"), "parameters_invalid"),
        ("Plain words.", "script_blocked"),
    ],
)
def test_blocking_emits_the_reasons_code(
    make_job: Callable[..., Job],
    worker: Worker,
    now: datetime,
    reason: str,
    code: str,
) -> None:
    """A blocked run: its coded reason's code (plain text: script_blocked)."""
    run = running(make_job(), worker, now)
    assert run_block(run=run, worker=worker, reason=reason, now=now)
    assert events() == [(run.pk, ENDED, "blocked", code, 1)]
    run.refresh_from_db()
    assert run.reason == str(reason)


def test_a_run_of_an_unapproved_script_is_blocked_with_its_code(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    settings: object,
    now: datetime,
) -> None:
    """Approval required and never given: a scheduled run is blocked (unapproved)."""
    job = make_job()
    settings.JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL = True  # type: ignore[attr-defined]
    job_run_now(job=job, requested_by=None, now=now, trigger=JobRun.Trigger.SCHEDULE)
    [run] = loop.claim_runs(1)
    loop.execute_run(run)
    assert events() == [(run.pk, ENDED, "blocked", "script_unapproved", 1)]


def test_recovering_a_dead_workers_run_emits_worker_lost(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """Silent worker: lost (worker_lost), and its retry."""
    run = running(make_job(retry_max_attempts=2), worker, now)
    later = now + timedelta(minutes=5)
    runs_recover_lost(now=later, lost_after_seconds=60)
    assert [e[1:4] for e in events()] == [
        (ENDED, "lost", "worker_lost"),
        (RETRY, "queued", ""),
    ]
    assert events()[0][0] == run.pk


def test_a_restarted_worker_marks_its_orphans_worker_restarted(
    make_job: Callable[..., Job], worker: Worker, now: datetime
) -> None:
    """The same name registering again: its running runs end lost."""
    job = make_job(retry_on_lost=False)
    run = running(job, worker, now)
    worker_register(name="w1", host="h", pid=2, now=now)
    assert events() == [(run.pk, ENDED, "lost", "worker_restarted", 1)]


def test_runs_end_writes_terminal_states_only(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """The one writer refuses a non-terminal status."""
    run = job_run_now(job=make_job(), requested_by=None, now=now)
    end = outcomes.RunEnd(run, {"status": "queued"}, {"status": JobRun.Status.RUNNING})
    with pytest.raises(ValueError, match="terminal states only"):
        outcomes.runs_end(now=now, end=end)
    assert events() == []


# --- scheduling -----------------------------------------------------------------


def slot_events(job: Job) -> list[tuple[str, str]]:
    """Return (status, code) of the job's events, oldest slot first."""
    rows = RunEvent.objects.filter(job=job).order_by("run__scheduled_for")
    return list(rows.values_list("status", "reason_code"))


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (Job.MisfirePolicy.RUN_ONCE, [("skipped", "misfire_folded")] * 2),
        (Job.MisfirePolicy.SKIP, [("skipped", "misfire_skipped")] * 3),
        (Job.MisfirePolicy.RUN_ALL, [("skipped", "misfire_cap")] * 1),
    ],
)
def test_missed_slots_emit_their_misfire_code(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    policy: str,
    expected: list[tuple[str, str]],
) -> None:
    """Three missed slots: one event per skipped slot, none for queued runs."""
    from jobs.services import due

    monkeypatch.setattr(due, "MISFIRE_RUN_ALL_CAP", 2)
    job = make_job(
        misfire_policy=policy,
        misfire_grace_seconds=30,
        concurrency_policy=Job.ConcurrencyPolicy.ALLOW,
    )
    clock.advance(3 * 60 + 45)
    assert loop.schedule_due_slots() == 3
    assert slot_events(job) == expected
    ended = JobRun.objects.filter(job=job, status__in=JobRun.FINISHED)
    assert ended.count() == len(expected)


def test_forbid_emits_concurrency_forbid(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """A slot skipped beside a queued run: concurrency_forbid."""
    job = make_job()
    clock.advance(60)
    loop.schedule_due_slots()
    clock.advance(60)
    loop.schedule_due_slots()
    assert slot_events(job) == [("skipped", "concurrency_forbid")]


def test_replace_emits_replaced_for_the_cancelled_queued_run(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """Policy replace: the queued run it cancels ends as replaced."""
    job = make_job(concurrency_policy=Job.ConcurrencyPolicy.REPLACE)
    clock.advance(60)
    loop.schedule_due_slots()
    clock.advance(60)
    loop.schedule_due_slots()
    assert slot_events(job) == [("cancelled", "replaced")]


def test_replace_codes_a_running_run_replaced_when_it_stops(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock, now: datetime
) -> None:
    """A running run replaced: its cancelled result keeps the replaced code."""
    job = make_job(concurrency_policy=Job.ConcurrencyPolicy.REPLACE)
    assert loop.worker is not None
    old = running(job, loop.worker, now)
    clock.advance(60)
    loop.schedule_due_slots()
    assert slot_events(job) == []
    outcome = Outcome(
        JobRun.Status.CANCELLED, reason="Cancelled.", reason_code="cancelled_by_user"
    )
    run_finish(run=old, worker=loop.worker, outcome=outcome, now=clock())
    assert slot_events(job) == [("cancelled", "replaced")]


def test_an_unusable_schedule_emits_schedule_error(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock
) -> None:
    """The blocked slot of a schedule that no longer parses."""
    job = make_job()
    job.schedules.update(document={"type": "daily", "time": "9"})
    clock.advance(60)
    loop.schedule_due_slots()
    assert slot_events(job) == [("blocked", "schedule_error")]


def test_skipped_slots_events_take_one_statement_for_the_batch(
    make_job: Callable[..., Job], loop: WorkerLoop, clock: FakeClock, now: datetime
) -> None:
    """3 or 30 jobs whose slots are skipped: the same statements."""
    counts = []
    for count, at in ((3, 1), (30, 2)):
        jobs = [
            make_job(
                f"j{at}-{i}",
                misfire_policy=Job.MisfirePolicy.SKIP,
                misfire_grace_seconds=30,
            )
            for i in range(count)
        ]
        slot = now + timedelta(minutes=10 * at)
        Job.objects.filter(pk__in=[j.pk for j in jobs]).update(next_run_at=slot)
        Job.objects.exclude(pk__in=[j.pk for j in jobs]).update(is_active=False)
        clock.now = slot + timedelta(seconds=45)  # one missed slot each
        with CaptureQueriesContext(connection) as queries:
            loop.schedule_due_slots()
        counts.append(len(queries))
        assert RunEvent.objects.filter(job__in=jobs).count() == count
    assert counts[0] == counts[1]


# --- the migration --------------------------------------------------------------


def test_existing_runs_get_the_code_their_reason_stands_for(
    make_job: Callable[..., Job], now: datetime
) -> None:
    """The backfill codes reasons it recognises and leaves the rest blank."""
    job = make_job()
    texts = {
        ("skipped", policies.MSG_MISFIRE_COALESCED): "misfire_folded",
        ("skipped", policies.MSG_MISFIRE_CAP.format(cap=5)): "misfire_cap",
        ("failed", policies.MSG_EXIT_CODE.format(code=3)): "exit_code",
        ("lost", "Worker w shut down before the run finished."): "shutdown",
        ("blocked", "Script 'a.py' was rejected on 2026-01-01 by bob."): (
            "script_rejected"
        ),
        ("failed", "Something else."): "",
    }
    for n, (status, reason) in enumerate(texts):
        JobRun.objects.create(
            job=job,
            scheduled_for=now + timedelta(minutes=n),
            trigger=JobRun.Trigger.SCHEDULE,
            status=status,
            queued_at=now,
            not_before=now,
            reason=reason,
        )
    migration = importlib.import_module("jobs.migrations.0008_backfill_reason_codes")
    migration.forward(apps, None)
    stored = dict(
        ((s, r), c)
        for s, r, c in JobRun.objects.values_list("status", "reason", "reason_code")
    )
    assert stored == texts
    migration.reverse(apps, None)
    assert set(JobRun.objects.values_list("reason_code", flat=True)) == {""}
