"""Retention: deleting exactly the runs it should, never an active one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from jobs.checks import check_retention_settings
from jobs.models import Job, JobRun, RunEvent
from jobs.retention import RetentionPolicy, cutoff, policy_for, runs_beyond
from jobs.services.retention import RetentionPass, retention_apply, retention_count
from jobs.tests.factories import JobFactory, JobRunFactory
from jobs.worker import WorkerLoop

NOW = datetime(2026, 6, 1, tzinfo=UTC)
POLICY = RetentionPolicy(days=30, runs=0, output_days=0)


def days_ago(days: float) -> datetime:
    """Return the instant `days` days before NOW."""
    return NOW - timedelta(days=days)


def run(job: Job, age_days: float, **fields: Any) -> JobRun:
    """Record a finished run of `job` whose slot was `age_days` ago."""
    at = days_ago(age_days)
    fields.setdefault("output", "hello\n")
    return JobRunFactory.create(
        job=job, scheduled_for=at, queued_at=at, not_before=at, **fields
    )


def ages(job: Job) -> list[float]:
    """Return the ages in days of the job's remaining runs, oldest first."""
    runs = JobRun.objects.filter(job=job).order_by("scheduled_for")
    return [(NOW - r.scheduled_for) / timedelta(days=1) for r in runs]


# --- the pure policy -----------------------------------------------------------------


def test_a_jobs_own_numbers_win_and_none_takes_the_default() -> None:
    """0 is a number of its own: no limit."""
    default = RetentionPolicy(days=90, runs=100, output_days=30)
    assert policy_for(days=0, runs=None, output_days=7, default=default) == (
        RetentionPolicy(days=0, runs=100, output_days=7)
    )


def test_cutoff_is_none_for_no_limit() -> None:
    """0 days keeps everything; N days cuts N days back."""
    assert cutoff(0, now=NOW) is None
    assert cutoff(30, now=NOW) == datetime(2026, 5, 2, tzinfo=UTC)


def test_runs_beyond_counts_what_the_count_rule_removes() -> None:
    """Keep 0 means no limit."""
    assert (
        runs_beyond(10, keep=3),
        runs_beyond(2, keep=3),
        runs_beyond(9, keep=0),
    ) == (
        7,
        0,
        0,
    )


def test_negative_numbers_are_refused() -> None:
    """A policy cannot be built from nonsense."""
    with pytest.raises(ValueError, match="may not be negative"):
        RetentionPolicy(days=-1)


# --- the service ---------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db


@pytestmark_db
def test_old_finished_runs_go_and_active_ones_stay_whatever_their_age(
    scripts_dir: Path,
) -> None:
    """Queued and running runs of 100 days ago are never deleted."""
    job = JobFactory.create(now=NOW)
    run(job, 40)
    run(job, 10)
    run(job, 100, status=JobRun.Status.QUEUED, started_at=None, finished_at=None)
    run(job, 90, status=JobRun.Status.RUNNING, finished_at=None)
    done = retention_apply(now=NOW, policy=POLICY)
    assert done == RetentionPass(runs_deleted=1, outputs_trimmed=0, is_behind=False)
    assert ages(job) == [100, 90, 10]


@pytestmark_db
def test_a_jobs_own_days_win_and_zero_keeps_forever(scripts_dir: Path) -> None:
    """Job a keeps 5 days, job b everything; the default is 30."""
    short = JobFactory.create(name="a", retention_days=5, now=NOW)
    forever = JobFactory.create(name="b", retention_days=0, now=NOW)
    for job in (short, forever):
        run(job, 6)
        run(job, 400)
    retention_apply(now=NOW, policy=POLICY)
    assert (ages(short), ages(forever)) == ([], [400, 6])


@pytestmark_db
def test_the_count_rule_keeps_the_newest_runs(scripts_dir: Path) -> None:
    """retention_runs=2 keeps the two newest finished runs."""
    job = JobFactory.create(retention_runs=2, now=NOW)
    for age in (5, 4, 3, 2, 1):
        run(job, age)
    run(job, 6, status=JobRun.Status.RUNNING, finished_at=None)
    policy = RetentionPolicy(days=0, runs=0, output_days=0)
    assert retention_apply(now=NOW, policy=policy).runs_deleted == 3
    assert ages(job) == [6, 2, 1]


@pytestmark_db
def test_output_is_emptied_after_its_days_and_the_run_kept(scripts_dir: Path) -> None:
    """The row stays with output_trimmed_at; newer output stays."""
    job = JobFactory.create(now=NOW)
    old, new = run(job, 8), run(job, 2)
    policy = RetentionPolicy(days=0, runs=0, output_days=7)
    assert retention_apply(now=NOW, policy=policy).outputs_trimmed == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.output, old.output_trimmed_at, new.output) == ("", NOW, "hello\n")


@pytestmark_db
def test_a_step_with_nothing_to_do_asks_in_plain_reads_only(
    scripts_dir: Path, settings: Any
) -> None:
    """Each worker asks every minute: nothing due is a few cheap reads.

    Each rule's most lenient question must still see its work: a job that
    keeps 5 days while the default keeps 30, an output past its days, an
    artifact past its days, a count rule.
    """
    settings.JOB_PORTAL_ARTIFACT_RETENTION_DAYS = 0
    policy = RetentionPolicy(days=30, runs=0, output_days=10)
    short = JobFactory.create(name="short", retention_days=5, now=NOW)
    run(short, 4)
    with CaptureQueriesContext(connection) as queries:
        assert retention_apply(now=NOW, policy=policy) == RetentionPass()
    assert len(queries) == 3
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in queries)

    run(short, 6)
    assert retention_apply(now=NOW, policy=policy).runs_deleted == 1
    keep_all = RetentionPolicy(days=0, runs=0, output_days=3)
    assert retention_apply(now=NOW, policy=keep_all).outputs_trimmed == 1
    JobFactory.create(name="counted", retention_runs=1, now=NOW)
    with CaptureQueriesContext(connection) as counted:
        retention_apply(now=NOW, policy=RetentionPolicy(days=0, runs=0, output_days=0))
    assert len(counted) > 3


@pytestmark_db
def test_a_step_does_one_batch_and_says_more_is_due(scripts_dir: Path) -> None:
    """Five expired runs, batches of two: 2, 2, then 1 and done."""
    job = JobFactory.create(now=NOW)
    for age in range(40, 45):
        run(job, age)
    steps = [retention_apply(now=NOW, policy=POLICY, batch=2) for _ in range(3)]
    assert [(s.runs_deleted, s.is_behind) for s in steps] == [
        (2, True),
        (2, True),
        (1, False),
    ]


@pytestmark_db
def test_a_run_with_unread_events_waits(scripts_dir: Path) -> None:
    """Consumers read every event before its run can go."""
    job = JobFactory.create(now=NOW)
    old = run(job, 40)
    RunEvent.objects.create(
        run=old, job=job, kind="ended", status=old.status, attempt=1, at=NOW
    )
    assert retention_apply(now=NOW, policy=POLICY).runs_deleted == 0
    RunEvent.objects.all().delete()
    assert retention_apply(now=NOW, policy=POLICY).runs_deleted == 1


@pytestmark_db
def test_each_step_that_changed_something_is_audited_with_counts(
    scripts_dir: Path,
) -> None:
    """One event with the counts; an idle step writes none."""
    job = JobFactory.create(now=NOW)
    run(job, 40)
    retention_apply(now=NOW, policy=POLICY)
    retention_apply(now=NOW, policy=POLICY)
    event = AuditEvent.objects.get(target_repr="retention")
    assert event.changes == {
        "runs_deleted": [None, 1],
        "outputs_trimmed": [None, 0],
        "artifacts_deleted": [None, 0],
    }


@pytestmark_db
def test_the_count_equals_what_applying_does(scripts_dir: Path) -> None:
    """Age and count rules overlap without double counting."""
    job = JobFactory.create(retention_runs=1, now=NOW)
    for age in (50, 40, 3, 2, 1):
        run(job, age)
    policy = RetentionPolicy(days=30, runs=0, output_days=0)
    counted = retention_count(now=NOW, policy=policy)
    assert counted.runs_deleted == 4
    assert retention_apply(now=NOW, policy=policy).runs_deleted == 4


# --- the command and the worker ----------------------------------------------


@pytestmark_db
def test_prunelogs_dry_run_counts_and_changes_nothing(
    scripts_dir: Path, frozen_clock: Any, settings: Any
) -> None:
    """The counts printed; the runs still there."""
    settings.JOB_PORTAL_RETENTION_DAYS = 30
    settings.JOB_PORTAL_OUTPUT_RETENTION_DAYS = 0
    frozen_clock.now = NOW
    job = JobFactory.create(now=NOW)
    run(job, 40)
    out = StringIO()
    call_command("prunelogs", "--dry-run", stdout=out)
    assert out.getvalue() == "Would delete 1 runs and empty the output of 0 runs.\n"
    assert JobRun.objects.count() == 1


@pytestmark_db
def test_prunelogs_applies_every_batch(
    scripts_dir: Path, frozen_clock: Any, settings: Any
) -> None:
    """All due batches in one call."""
    settings.JOB_PORTAL_RETENTION_DAYS = 30
    settings.JOB_PORTAL_RETENTION_BATCH = 2
    frozen_clock.now = NOW
    job = JobFactory.create(now=NOW)
    for age in range(40, 45):
        run(job, age)
    out = StringIO()
    call_command("prunelogs", stdout=out)
    assert out.getvalue().startswith("Deleted 5 runs")
    assert JobRun.objects.count() == 0


@pytestmark_db
def test_the_worker_applies_retention_once_per_interval(
    scripts_dir: Path, loop: WorkerLoop, clock: Any, settings: Any
) -> None:
    """A second step within the interval does nothing; after it, it works."""
    settings.JOB_PORTAL_RETENTION_DAYS = 30
    settings.JOB_PORTAL_RETENTION_INTERVAL = 60
    clock.now = NOW
    job = JobFactory.create(now=NOW)
    run(job, 40)
    assert loop.apply_retention() == 1
    run(job, 41)
    clock.now = NOW + timedelta(seconds=59)
    assert loop.apply_retention() == 0
    clock.now = NOW + timedelta(seconds=60)
    assert loop.apply_retention() == 1


def test_a_negative_retention_setting_is_a_check_error_naming_it(settings: Any) -> None:
    """jobs.E170 names the variable and the rule."""
    settings.JOB_PORTAL_RETENTION_RUNS = -1
    errors = check_retention_settings(None)
    assert [(e.id, e.msg) for e in errors] == [
        (
            "jobs.E170",
            "JOB_PORTAL_RETENTION_RUNS must be a number of whole runs, 0 (no limit) "
            "or more; got -1.",
        )
    ]
