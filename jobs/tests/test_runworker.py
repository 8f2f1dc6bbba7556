"""``manage.py runworker`` as real processes against the test database."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.tests.factories import UserFactory
from jobs import schedule as engine
from jobs.models import Job, JobRun, Schedule, Worker
from jobs.policies import MSG_SHUTDOWN
from jobs.services.runs import (
    MSG_CANCELLED_BY,
    job_run_now,
    run_request_cancel,
)
from jobs.tests.conftest import WorkerProcesses, eventually, load_scaled
from jobs.wakeup import wakeup_notify

pytestmark = pytest.mark.django_db(transaction=True)

EXIT_TIMEOUT = 15
# Four workers starting at once (Django, the sender thread, a first cycle).
START_TIMEOUT = 40
# The whole test took 34 s at a load average of 5 to 8 on 2 cores.
RACE_TIMEOUT = 90


def registered(name: str) -> Callable[[], bool]:
    """Return a check that the worker called `name` has registered."""
    return lambda: Worker.objects.filter(name=name, stopped_at__isnull=True).exists()


def status_of(run: JobRun) -> str:
    """Return the run's current status."""
    return JobRun.objects.values_list("status", flat=True).get(pk=run.pk)


def test_sigterm_stops_an_idle_worker_with_exit_code_0(
    worker_processes: WorkerProcesses,
) -> None:
    """SIGTERM: the worker records that it stopped and exits 0."""
    proc = worker_processes.start("--name", "idle")
    eventually(registered("idle"), timeout=EXIT_TIMEOUT, context=worker_processes.logs)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=EXIT_TIMEOUT) == 0, worker_processes.log(proc)
    assert Worker.objects.get(name="idle").stopped_at is not None
    assert "Worker idle stopped" in worker_processes.log(proc)


def test_sigterm_after_the_grace_period_hands_a_running_run_on(
    worker_processes: WorkerProcesses, make_job: Callable[..., Job]
) -> None:
    """Grace 0.2 s on a 30 s nap: exit 0, run lost, attempt 2 queued."""
    job = make_job(script="nap.py", schedules=[{"type": "manual"}])
    run = job_run_now(job=job, requested_by=None, now=timezone.now())
    proc = worker_processes.start("--name", "leaving", "--grace", "0.2")
    eventually(
        lambda: status_of(run) == JobRun.Status.RUNNING,
        timeout=EXIT_TIMEOUT,
        context=worker_processes.logs,
    )
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=EXIT_TIMEOUT) == 0, worker_processes.log(proc)
    run.refresh_from_db()
    assert (run.status, run.reason) == (
        JobRun.Status.LOST,
        MSG_SHUTDOWN.format(worker="leaving"),
    )
    assert JobRun.objects.get(job=job, attempt=2).status == JobRun.Status.QUEUED


def test_once_processes_what_is_due_and_exits(
    worker_processes: WorkerProcesses, make_job: Callable[..., Job]
) -> None:
    """--once: a due slot and a queued manual run both run; exit 0."""
    now = timezone.now()
    scheduled = make_job("scheduled", at=now - timedelta(minutes=1))
    manual = make_job("manual", schedules=[{"type": "manual"}])
    job_run_now(job=manual, requested_by=None, now=now)
    proc = worker_processes.start("--once")
    assert proc.wait(timeout=EXIT_TIMEOUT) == 0, worker_processes.log(proc)
    statuses = JobRun.objects.values_list("job__name", "status")
    assert sorted(statuses) == [
        ("manual", JobRun.Status.SUCCEEDED),
        ("scheduled", JobRun.Status.SUCCEEDED),
    ]
    scheduled.refresh_from_db()
    assert scheduled.next_run_at is not None
    assert scheduled.next_run_at > now


def test_a_slot_starts_on_time_and_a_queued_run_without_waiting_a_poll(
    worker_processes: WorkerProcesses, make_job: Callable[..., Job]
) -> None:
    """Poll 30 s: a slot due in 1.5 s starts on time; a manual run within 1 s."""
    proc = worker_processes.start("--name", "prompt", "--poll-interval", "30")
    eventually(
        registered("prompt"), timeout=EXIT_TIMEOUT, context=worker_processes.logs
    )
    job = make_job(
        "timely", schedules=[{"type": "interval", "seconds": 3600}], at=timezone.now()
    )
    due_at = timezone.now() + timedelta(seconds=1.5)
    Job.objects.filter(pk=job.pk).update(next_run_at=due_at)
    wakeup_notify()  # as job_schedule_refresh does after saving
    run = eventually(
        lambda: JobRun.objects.filter(job=job, started_at__isnull=False).first(),
        timeout=EXIT_TIMEOUT,
        context=worker_processes.logs,
    )
    assert run.scheduled_for == due_at
    assert (run.started_at - due_at).total_seconds() < 0.25, worker_processes.log(proc)
    eventually(
        lambda: status_of(run) == JobRun.Status.SUCCEEDED,
        timeout=10,
        context=worker_processes.logs,
    )
    manual = job_run_now(job=job, requested_by=None, now=timezone.now())
    eventually(
        lambda: JobRun.objects.get(pk=manual.pk).started_at is not None,
        timeout=1.0,
        context=worker_processes.logs,
    )
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=EXIT_TIMEOUT) == 0


def test_cancel_from_the_admin_ends_a_running_script_within_a_second(
    worker_processes: WorkerProcesses, make_job: Callable[..., Job]
) -> None:
    """run_request_cancel: the worker wakes, stops the group, records who asked."""
    alice = UserFactory.create(username="alice")
    job = make_job(script="nap.py", schedules=[{"type": "manual"}])
    run = job_run_now(job=job, requested_by=None, now=timezone.now())
    proc = worker_processes.start("--name", "canceller", "--poll-interval", "30")
    eventually(
        lambda: status_of(run) == JobRun.Status.RUNNING,
        timeout=EXIT_TIMEOUT,
        context=worker_processes.logs,
    )
    asked = time.monotonic()
    run_request_cancel(run=run, requested_by=alice, now=timezone.now())
    eventually(
        lambda: status_of(run) == JobRun.Status.CANCELLED,
        timeout=3,
        context=worker_processes.logs,
    )
    assert time.monotonic() - asked < 1.5
    run.refresh_from_db()
    assert run.reason == MSG_CANCELLED_BY.format(user="alice")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=EXIT_TIMEOUT) == 0


def test_kill_9_mid_run_gives_a_lost_run_that_another_worker_retries(
    worker_processes: WorkerProcesses, make_job: Callable[..., Job], tmp_path: Path
) -> None:
    """Worker A dies mid-run; worker B marks the run lost and runs attempt 2."""
    pid_file = tmp_path / "nap.pid"
    job = make_job(
        script="first_naps.py",
        schedules=[{"type": "manual"}],
        env={"NAP_PID_FILE": str(pid_file)},
        retry_max_attempts=2,
        retry_delay_seconds=0,
    )
    first = job_run_now(job=job, requested_by=None, now=timezone.now())
    fast_loss = {"JOB_PORTAL_WORKER_LOST_AFTER": "1"}
    doomed = worker_processes.start("--name", "doomed", **fast_loss)
    eventually(pid_file.exists, timeout=EXIT_TIMEOUT, context=worker_processes.logs)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=EXIT_TIMEOUT)
    try:
        rescuer = worker_processes.start("--name", "rescuer", **fast_loss)
        retry = eventually(
            lambda: JobRun.objects.filter(
                job=job, attempt=2, status=JobRun.Status.SUCCEEDED
            ).first(),
            timeout=EXIT_TIMEOUT,
            context=worker_processes.logs,
        )
    finally:
        # Its supervisor ends the script with the worker; should it not,
        # end it here rather than leave it behind.
        eventually(
            lambda: pid_file.read_text(), timeout=5, context=worker_processes.logs
        )
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
    first.refresh_from_db()
    assert first.status == JobRun.Status.LOST
    assert first.reason.startswith("Worker doomed stopped heart-beating")
    assert retry.worker.name == "rescuer"
    assert retry.output == "attempt 2\n"
    rescuer.send_signal(signal.SIGTERM)
    assert rescuer.wait(timeout=EXIT_TIMEOUT) == 0


def test_four_workers_run_300_due_slots_exactly_once(
    worker_processes: WorkerProcesses, make_job: Callable[..., Job]
) -> None:
    """Four processes race for 300 slots due at one instant: no dup, no miss."""
    Job.objects.bulk_create(
        Job(name=f"race-{i}", script="nested/report.sh") for i in range(300)
    )
    jobs = list(Job.objects.filter(name__startswith="race-"))
    Schedule.objects.bulk_create(
        Schedule(job=job, document={"type": "interval", "seconds": 3600})
        for job in jobs
    )
    procs = [
        worker_processes.start("--name", f"racer-{i}", "--concurrency", "4")
        for i in range(4)
    ]
    # Four Django processes starting at once, and 300 runs (each a fork, a
    # bash and a few writes) on a machine others may load: the bounds are
    # stretched by the load (they only bound a wait on a condition).
    for i in range(4):
        eventually(
            registered(f"racer-{i}"),
            timeout=load_scaled(START_TIMEOUT),
            context=worker_processes.logs,
        )
    due_at = timezone.now() + timedelta(seconds=1)
    Job.objects.filter(name__startswith="race-").update(next_run_at=due_at)
    wakeup_notify()
    eventually(
        lambda: JobRun.objects.filter(status__in=JobRun.FINISHED).count() >= 300,
        timeout=load_scaled(RACE_TIMEOUT),
        context=worker_processes.logs,
    )
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        assert proc.wait(timeout=load_scaled(EXIT_TIMEOUT)) == 0, worker_processes.log(
            proc
        )
    per_slot = Counter(JobRun.objects.values_list("job_id", "scheduled_for"))
    assert len(per_slot) == 300  # no slot missing
    assert set(per_slot.values()) == {1}  # no slot twice
    assert {slot for _, slot in per_slot} == {due_at}
    assert set(JobRun.objects.values_list("status", flat=True)) == {
        JobRun.Status.SUCCEEDED
    }
    expected_next = engine.next_fire(jobs[0].parsed_schedules(), due_at)
    assert expected_next is not None
    assert set(
        Job.objects.filter(name__startswith="race-").values_list(
            "next_run_at", flat=True
        )
    ) == {expected_next.at}
    ran_on = set(JobRun.objects.values_list("worker__name", flat=True))
    assert len(ran_on) >= 2, ran_on


def test_a_database_that_refuses_connections_does_not_kill_the_worker(
    worker_processes: WorkerProcesses,
) -> None:
    """Nothing listens on port 1: the worker logs, backs off, and stops cleanly."""
    proc = worker_processes.start(
        "--name", "patient", JOB_PORTAL_DB_URL="postgres://nobody@127.0.0.1:1/none"
    )
    eventually(
        lambda: worker_processes.log(proc).count("Database unavailable") >= 2,
        timeout=EXIT_TIMEOUT,
        context=worker_processes.logs,
    )
    assert proc.poll() is None  # still alive, backing off
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=EXIT_TIMEOUT) == 0, worker_processes.log(proc)
    assert "Traceback" not in worker_processes.log(proc)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--concurrency", "0", "--concurrency must be greater than 0, got 0."),
        ("--poll-interval", "-1", "--poll-interval must be greater than 0, got -1.0."),
        ("--grace", "-1", "--grace must be 0 or more, got -1.0."),
    ],
)
def test_bad_options_are_refused_with_a_message(
    option: str, value: str, message: str
) -> None:
    """No traceback, a CommandError naming the option."""
    with pytest.raises(CommandError, match=message):
        call_command("runworker", option, value)
