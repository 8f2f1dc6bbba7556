"""A hand-computed set of ended runs for the metrics tests.

Job "alpha" ends three runs in the 08:00 UTC hour of 2026-03-01; job
"beta" skips its 09:30 slot (the 09:00 hour) and its 09:00 run times out
at 10:00:12 (the 10:00 hour). Lateness = start - not_before, duration =
finish - start:

| job   | slot  | status    | late  | took   |
|-------|-------|-----------|-------|--------|
| alpha | 08:00 | succeeded | 1 s   | 10 s   |
| alpha | 08:10 | succeeded | 3 s   | 20 s   |
| alpha | 08:20 | failed    | 0.5 s | 60 s   |
| beta  | 09:00 | timed_out | 12 s  | 3600 s |
| beta  | 09:30 | skipped   | -     | -      |

So: 5 runs; success rate 2 / (2 + failed + timed_out) = 50 %; lateness
buckets (0.25, 0.5] 1, (0.5, 1] 1, (2, 5] 1, (10, 30] 1: p50 = 1.0 s,
p95 = 10 + 20 * 0.8 = 26.0 s, p99 = 10 + 20 * 0.96 = 29.2 s.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.models import Job, JobRun
from jobs.services.outcomes import runs_end

DAY = datetime(2026, 3, 1, tzinfo=UTC)
# The instant the tests look from: the figures' 24 hours hold every run.
LOOK_AT = datetime(2026, 3, 1, 12, tzinfo=UTC)

# (job, slot minute after 08:00, status, lateness, duration)
ROWS: tuple[tuple[str, int, str, float | None, float | None], ...] = (
    ("alpha", 0, JobRun.Status.SUCCEEDED, 1.0, 10.0),
    ("alpha", 10, JobRun.Status.SUCCEEDED, 3.0, 20.0),
    ("alpha", 20, JobRun.Status.FAILED, 0.5, 60.0),
    ("beta", 60, JobRun.Status.TIMED_OUT, 12.0, 3600.0),
    ("beta", 90, JobRun.Status.SKIPPED, None, None),
)


def end_run(
    job: Job,
    *,
    slot: datetime,
    status: str,
    lateness: float | None,
    duration: float | None,
    attempt: int = 1,
) -> JobRun:
    """Record an ended run (and its event, through `runs_end`)."""
    started = slot + timedelta(seconds=lateness) if lateness is not None else None
    finished = (
        started + timedelta(seconds=duration)
        if started is not None and duration is not None
        else slot
    )
    end = finished
    run = JobRun(
        job=job,
        scheduled_for=slot,
        attempt=attempt,
        trigger=JobRun.Trigger.SCHEDULE,
        status=status,
        queued_at=slot,
        not_before=slot,
        started_at=started,
        finished_at=end,
        exit_code=None,
    )
    runs_end(now=end, records=[run])
    return run


def record_fixture(alpha: Job, beta: Job) -> None:
    """Record the table's runs, each with its run event."""
    jobs = {"alpha": alpha, "beta": beta}
    for name, minute, status, lateness, duration in ROWS:
        slot = DAY.replace(hour=8) + timedelta(minutes=minute)
        end_run(
            jobs[name], slot=slot, status=status, lateness=lateness, duration=duration
        )
