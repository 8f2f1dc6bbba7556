"""The "dependencies" run-event consumer: downstream runs queued or skipped once."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from jobs import dependency_rules, reasons
from jobs.models import Job, JobDependency, JobRun, RunEvent
from jobs.policies import Outcome
from jobs.services.dependencies import (
    CONSUMER,
    MSG_UPSTREAM_FAILED,
    dependency_events_process,
)
from jobs.services.events import run_events_claim
from jobs.services.runs import job_run_now, run_finish
from jobs.tests.conftest import FakeClock
from jobs.tests.factories import WorkerFactory

pytestmark = pytest.mark.django_db

MANUAL = [{"type": "manual"}]
OK = Outcome(status=JobRun.Status.SUCCEEDED, exit_code=0)
FAILED = Outcome(
    status=JobRun.Status.FAILED,
    exit_code=1,
    reason="Exit code 1.",
    reason_code="exit_code",
)


@pytest.fixture
def pipeline(make_job: Callable[..., Job]) -> Callable[..., dict[str, Job]]:
    """Return a function that builds jobs with the given upstream names."""

    def build(edges: dict[str, list[str]], **fields: Any) -> dict[str, Job]:
        jobs = {name: make_job(name, schedules=MANUAL, **fields) for name in edges}
        for name, ups in edges.items():
            for up in ups:
                JobDependency.objects.create(job=jobs[name], depends_on=jobs[up])
        return jobs

    return build


def finish(job: Job, outcome: Outcome, clock: FakeClock) -> JobRun:
    """Queue a run of `job`, start it and record `outcome`, a second apart."""
    run = job_run_now(job=job, requested_by=None, now=clock.advance(1))
    return finish_run(run, outcome, clock)


def finish_run(run: JobRun, outcome: Outcome, clock: FakeClock) -> JobRun:
    """Start the queued `run` on a worker and record `outcome`."""
    worker = WorkerFactory.create()
    JobRun.objects.filter(pk=run.pk).update(
        status=JobRun.Status.RUNNING, worker=worker, started_at=clock.advance(1)
    )
    run.refresh_from_db()
    run_finish(run=run, worker=worker, outcome=outcome, now=clock.advance(1))
    run.refresh_from_db()
    return run


def process(clock: FakeClock) -> int:
    """Run the consumer's worker step once, a second later."""
    return dependency_events_process(now=clock.advance(1))


def dependency_runs(job: Job) -> list[JobRun]:
    """Return the dependency-triggered runs of `job`, oldest first."""
    return list(
        JobRun.objects.filter(job=job, trigger=JobRun.Trigger.DEPENDENCY).order_by("pk")
    )


def queued_run(job: Job) -> JobRun:
    """Return the one queued dependency run of `job`."""
    (run,) = [r for r in dependency_runs(job) if r.status == JobRun.Status.QUEUED]
    return run


def upstream_ids(run: JobRun) -> list[int]:
    return sorted(run.upstreams.values_list("upstream_run_id", flat=True))


@pytest.mark.parametrize(
    "mode", [Job.DependencyMode.ALL_SUCCESS, Job.DependencyMode.ALL_COMPLETE]
)
def test_a_three_level_chain_runs_step_by_step(
    pipeline: Callable[..., dict[str, Job]], clock: FakeClock, mode: str
) -> None:
    """extract → transform → load: each step queued once when the one before ends."""
    jobs = pipeline(
        {"extract": [], "transform": ["extract"], "load": ["transform"]},
        dependency_mode=mode,
    )
    first = finish(jobs["extract"], OK, clock)
    process(clock)
    transform = queued_run(jobs["transform"])
    assert upstream_ids(transform) == [first.pk]
    assert dependency_runs(jobs["load"]) == []
    transform = finish_run(transform, OK, clock)
    process(clock)
    load = queued_run(jobs["load"])
    assert upstream_ids(load) == [transform.pk]
    process(clock)
    assert len(dependency_runs(jobs["transform"])) == 1
    assert len(dependency_runs(jobs["load"])) == 1


def test_any_success_chain_runs_on_the_first_success(
    pipeline: Callable[..., dict[str, Job]], clock: FakeClock
) -> None:
    """any_success over three levels: one good upstream of two is enough."""
    jobs = pipeline(
        {"a": [], "b": [], "c": ["a", "b"], "d": ["c"]},
        dependency_mode=Job.DependencyMode.ANY_SUCCESS,
    )
    finish(jobs["a"], FAILED, clock)
    process(clock)
    assert dependency_runs(jobs["c"]) == []
    good = finish(jobs["b"], OK, clock)
    process(clock)
    c_run = queued_run(jobs["c"])
    assert good.pk in upstream_ids(c_run)
    finish_run(c_run, OK, clock)
    process(clock)
    assert queued_run(jobs["d"]).trigger == JobRun.Trigger.DEPENDENCY


def test_all_complete_runs_after_a_failure(
    pipeline: Callable[..., dict[str, Job]], clock: FakeClock
) -> None:
    """all_complete ignores the outcome: a failed upstream still lets it run."""
    jobs = pipeline(
        {"a": [], "b": ["a"], "c": ["b"]},
        dependency_mode=Job.DependencyMode.ALL_COMPLETE,
    )
    finish(jobs["a"], FAILED, clock)
    process(clock)
    finish_run(queued_run(jobs["b"]), FAILED, clock)
    process(clock)
    assert queued_run(jobs["c"]).status == JobRun.Status.QUEUED


def test_a_diamond_runs_its_sink_once(
    pipeline: Callable[..., dict[str, Job]], clock: FakeClock
) -> None:
    """A → B, A → C, B + C → D: B and C queued together, D once after both."""
    jobs = pipeline({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})
    finish(jobs["a"], OK, clock)
    process(clock)
    b_run, c_run = queued_run(jobs["b"]), queued_run(jobs["c"])
    b_run = finish_run(b_run, OK, clock)
    process(clock)
    assert dependency_runs(jobs["d"]) == []
    c_run = finish_run(c_run, OK, clock)
    process(clock)
    process(clock)
    (d_run,) = dependency_runs(jobs["d"])
    assert upstream_ids(d_run) == sorted([b_run.pk, c_run.pk])


def test_a_diamond_with_any_success_runs_its_sink_once(
    pipeline: Callable[..., dict[str, Job]], clock: FakeClock
) -> None:
    """B's success queues D; C's, of the same round (A's run), does not again."""
    jobs = pipeline({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})
    Job.objects.filter(name="d").update(dependency_mode=Job.DependencyMode.ANY_SUCCESS)
    finish(jobs["a"], OK, clock)
    process(clock)
    b_run, c_run = queued_run(jobs["b"]), queued_run(jobs["c"])
    finish_run(b_run, OK, clock)
    process(clock)
    finish_run(c_run, OK, clock)
    process(clock)
    assert len(dependency_runs(jobs["d"])) == 1
    # A new round (A runs again) queues D again.
    finish(jobs["a"], OK, clock)
    process(clock)
    finish_run(queued_run(jobs["b"]), OK, clock)
    process(clock)
    assert len(dependency_runs(jobs["d"])) == 2


def test_a_late_outcome_of_a_skipped_round_does_not_count_in_the_next(
    pipeline: Callable[..., dict[str, Job]], clock: FakeClock
) -> None:
    """Round 1: B fails (D skipped), then C succeeds; round 2 needs a new C."""
    jobs = pipeline({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})
    finish(jobs["a"], OK, clock)
    process(clock)
    b_run, c_run = queued_run(jobs["b"]), queued_run(jobs["c"])
    finish_run(b_run, FAILED, clock)
    process(clock)
    finish_run(c_run, OK, clock)
    process(clock)
    assert [r.status for r in dependency_runs(jobs["d"])] == ["skipped"]
    finish(jobs["a"], OK, clock)
    process(clock)
    b_run = queued_run(jobs["b"])
    finish_run(b_run, OK, clock)
    process(clock)
    assert [r.status for r in dependency_runs(jobs["d"])] == ["skipped"]
    c_run = queued_run(jobs["c"])
    finish_run(c_run, OK, clock)
    process(clock)
    assert [r.status for r in dependency_runs(jobs["d"])] == ["skipped", "queued"]


def test_a_retried_upstream_triggers_downstream_once(
    pipeline: Callable[..., dict[str, Job]], clock: FakeClock
) -> None:
    """A failed attempt with a retry is not final; the retry's success is."""
    jobs = pipeline({"a": [], "b": ["a"]})
    Job.objects.filter(pk=jobs["a"].pk).update(
        retry_max_attempts=3, retry_delay_seconds=0
    )
    jobs["a"].refresh_from_db()
    finish(jobs["a"], FAILED, clock)
    process(clock)
    assert dependency_runs(jobs["b"]) == []
    retry = JobRun.objects.get(job=jobs["a"], attempt=2)
    retry = finish_run(retry, OK, clock)
    process(clock)
    process(clock)
    (b_run,) = dependency_runs(jobs["b"])
    assert b_run.status == JobRun.Status.QUEUED
    assert upstream_ids(b_run) == [retry.pk]


def test_a_failed_upstream_skips_downstream_naming_it(
    pipeline: Callable[..., dict[str, Job]], clock: FakeClock
) -> None:
    """all_success: the failed run is named, and the skip goes down the chain."""
    jobs = pipeline({"a": [], "b": [], "c": ["a", "b"], "d": ["c"]})
    failed = finish(jobs["a"], FAILED, clock)
    process(clock)
    (skip,) = dependency_runs(jobs["c"])
    assert skip.status == JobRun.Status.SKIPPED
    assert skip.reason_code == reasons.UPSTREAM_FAILED
    assert skip.reason == MSG_UPSTREAM_FAILED.format(
        run=failed.pk, job="a", status="failed", mode="all_success"
    )
    assert upstream_ids(skip) == [failed.pk]
    process(clock)
    (d_skip,) = dependency_runs(jobs["d"])
    assert d_skip.reason_code == reasons.UPSTREAM_FAILED
    assert f"Upstream run {skip.pk} " in d_skip.reason


def test_the_next_round_counts_only_newer_outcomes(
    pipeline: Callable[..., dict[str, Job]], clock: FakeClock
) -> None:
    """An outcome used by one round never counts in the next."""
    jobs = pipeline({"a": [], "b": [], "c": ["a", "b"]})
    finish(jobs["a"], OK, clock)
    finish(jobs["b"], OK, clock)
    process(clock)
    assert len(dependency_runs(jobs["c"])) == 1
    finish(jobs["a"], OK, clock)
    process(clock)
    assert len(dependency_runs(jobs["c"])) == 1
    finish(jobs["b"], OK, clock)
    process(clock)
    assert len(dependency_runs(jobs["c"])) == 2


def test_an_outcome_outside_the_window_does_not_count(
    pipeline: Callable[..., dict[str, Job]], clock: FakeClock
) -> None:
    """A daily job after an hourly one: yesterday's success is too old."""
    jobs = pipeline({"hourly": [], "other": [], "daily": ["hourly", "other"]})
    JobDependency.objects.filter(depends_on=jobs["hourly"]).update(window_hours=2)
    finish(jobs["hourly"], OK, clock)
    process(clock)
    clock.advance(3 * 3600)
    finish(jobs["other"], OK, clock)
    process(clock)
    assert dependency_runs(jobs["daily"]) == []
    finish(jobs["hourly"], OK, clock)
    process(clock)
    assert len(dependency_runs(jobs["daily"])) == 1


def test_an_inactive_downstream_is_not_queued(
    pipeline: Callable[..., dict[str, Job]], clock: FakeClock
) -> None:
    jobs = pipeline({"a": [], "b": ["a"]})
    Job.objects.filter(pk=jobs["b"].pk).update(is_active=False)
    finish(jobs["a"], OK, clock)
    process(clock)
    assert dependency_runs(jobs["b"]) == []


def test_a_consumer_killed_before_its_ack_queues_once_after_the_lease(
    pipeline: Callable[..., dict[str, Job]], clock: FakeClock, now: datetime
) -> None:
    """Claimed and never acked: the event returns after the lease, handled once."""
    jobs = pipeline({"a": [], "b": ["a"]})
    finish(jobs["a"], OK, clock)
    # A worker claims the event and dies before handling it.
    died_at = clock.advance(1)
    claimed = run_events_claim(
        consumer=CONSUMER, limit=10, now=died_at, lease_seconds=60
    )
    assert [e.kind for e in claimed] == [RunEvent.Kind.ENDED]
    assert dependency_events_process(now=died_at + timedelta(seconds=30)) == 0
    assert dependency_runs(jobs["b"]) == []
    clock.set(died_at + timedelta(seconds=61))
    assert dependency_events_process(now=clock()) == 1
    assert dependency_events_process(now=clock.advance(120)) == 0
    assert len(dependency_runs(jobs["b"])) == 1


def test_the_worker_loop_queues_dependents_in_its_cycle(
    pipeline: Callable[..., dict[str, Job]], clock: FakeClock, loop: Any
) -> None:
    """The loop's step: an ended upstream run queues its downstream."""
    jobs = pipeline({"a": [], "b": ["a"]})
    finish(jobs["a"], OK, clock)
    assert loop.queue_dependents() == 1
    assert len(dependency_runs(jobs["b"])) == 1


def test_a_run_due_now_is_claimed_before_the_dependents_and_they_in_the_same_cycle(
    pipeline: Callable[..., dict[str, Job]],
    clock: FakeClock,
    loop: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Runs ending at a steady rate must not delay a slot's claim (issue 12)."""
    jobs = pipeline({"a": [], "b": ["a"], "c": []})
    finish(jobs["a"], OK, clock)
    due_now = job_run_now(job=jobs["c"], requested_by=None, now=clock())
    steps: list[str] = []
    claim, dependents = loop.claim_runs, loop.queue_dependents
    monkeypatch.setattr(loop, "start_runs", lambda runs: len(list(runs)))

    def claim_runs(limit: int) -> list[JobRun]:
        claimed = claim(limit)
        steps.append(f"claim {sorted(run.job_id for run in claimed)}")
        return claimed

    def queue_dependents() -> int:
        steps.append("dependents")
        return dependents()

    monkeypatch.setattr(loop, "claim_runs", claim_runs)
    monkeypatch.setattr(loop, "queue_dependents", queue_dependents)
    loop.run_once()
    assert steps == [
        f"claim {[due_now.job_id]}",
        "dependents",
        f"claim {[jobs['b'].pk]}",
    ]


@pytest.mark.django_db(transaction=True)
def test_two_consumers_deciding_one_round_at_once_queue_it_once(
    pipeline: Callable[..., dict[str, Job]],
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """B and C end; two workers each take one event and decide D together."""
    jobs = pipeline({"b": [], "c": [], "d": ["b", "c"]})
    finish(jobs["b"], OK, clock)
    finish(jobs["c"], OK, clock)
    both = threading.Barrier(2)
    decide = dependency_rules.decide

    def decide_together(**kwargs: Any) -> dependency_rules.Decision:
        # Both would decide from the same outcomes if nothing serialised
        # them; the second waits instead (PostgreSQL: on the job's row lock;
        # SQLite: on the write lock its ack took), so the wait times out.
        with contextlib.suppress(threading.BrokenBarrierError):
            both.wait(timeout=2)
        return decide(**kwargs)

    monkeypatch.setattr(dependency_rules, "decide", decide_together)
    at = clock.advance(1)
    errors: list[BaseException] = []

    def consumer() -> None:
        try:
            dependency_events_process(now=at, limit=1)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=consumer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    # An event left unacked by the loser comes back after its lease.
    dependency_events_process(now=at + timedelta(seconds=61))
    assert len(dependency_runs(jobs["d"])) == 1
