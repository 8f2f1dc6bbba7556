"""The benchmark's Django side: set up, arm, read back and time worker steps.

Run as ``python bench/portal_ops.py COMMAND JSON`` with the benchmark's
environment (JOB_PORTAL_DB_URL and friends); prints one JSON line on stdout.
`bench/run.py` drives it; it never runs against a database it did not create.

Commands:

* ``migrate``: migrate the (fresh, empty) database and create its cache table.
* ``seed``: create ``measured`` jobs through `job_save` and ``other`` jobs
  with `bulk_create`, all on valid yearly schedules whose next run lies
  months ahead; print the measured jobs' ids.
* ``arm``: move the next run of the given jobs to now + lead + offset (a slot
  at an exact instant, which no schedule type expresses below a minute) and
  wake the workers, as an edit in the admin would; print the instants.
* ``collect``: print every run row, as integers (ns since the epoch).
* ``batch``: queue one run of each given job with one ``POST /api/runs``,
  authenticated by a new API key (the whole API stack, in this process, no
  network); print the instant just before the request, its answer's status
  and the run ids.
* ``notify_feed``: create a webhook channel to ``url`` (bench/notify.py's
  pieces) and end ``count`` failing runs over ``seconds``; print each run's
  event time.
* ``steps``: create N jobs, then time the worker's steps in this process
  with an injected clock, in rounds asked for on stdin; print the times.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobportal.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from jobs import schedule as engine  # noqa: E402
from jobs.models import Job, JobRun, Schedule  # noqa: E402
from jobs.services.jobs import job_save  # noqa: E402
from jobs.wakeup import wakeup_notify  # noqa: E402
from jobs.worker import WorkerLoop  # noqa: E402

SCRIPT = "bench_job.py"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Other jobs fire on days this far ahead, so none is due while measuring.
FAR_DAYS = (150, 210)
BULK_BATCH = 2000


def to_ns(moment: datetime | None) -> int | None:
    """Return `moment` as integer nanoseconds since the epoch (exact)."""
    if moment is None:
        return None
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def from_ns(ns: int) -> datetime:
    """Return the aware UTC datetime of `ns` (microsecond precision)."""
    return EPOCH + timedelta(microseconds=ns // 1000)


class FarSchedules:
    """Valid yearly schedules that fire months from now, with their next run."""

    def __init__(self, now: datetime, seed: int = 7) -> None:
        """Prepare a pool of distinct schedules."""
        self.now = now
        self.rng = random.Random(seed)  # noqa: S311 - a repeatable spread
        self._cache: dict[tuple[int, int, str], datetime] = {}

    def pick(self) -> tuple[dict[str, Any], datetime]:
        """Return a schedule document and its next fire instant."""
        day = self.now + timedelta(days=self.rng.randint(*FAR_DAYS))
        at = f"{self.rng.randrange(24):02d}:{self.rng.randrange(60):02d}"
        key = (day.month, min(day.day, 28), at)
        doc = {"type": "yearly", "month": key[0], "day": key[1], "time": at}
        if key not in self._cache:
            parsed = engine.parse_schedule(doc, default_timezone="UTC")
            fire = engine.next_fire([parsed], self.now)
            assert fire is not None
            self._cache[key] = fire.at
        return doc, self._cache[key]


def bulk_jobs(count: int, *, prefix: str, start: int, far: FarSchedules) -> None:
    """Create `count` active jobs with far schedules, in batches."""
    for first in range(0, count, BULK_BATCH):
        picks = [far.pick() for _ in range(min(BULK_BATCH, count - first))]
        jobs = [
            Job(
                name=f"{prefix}-{start + first + i:07d}",
                script=SCRIPT,
                timezone="UTC",
                next_run_at=next_at,
            )
            for i, (_, next_at) in enumerate(picks)
        ]
        with transaction.atomic():
            Job.objects.bulk_create(jobs)
            Schedule.objects.bulk_create(
                Schedule(job=job, document=doc, position=0)
                for job, (doc, _) in zip(jobs, picks, strict=True)
            )


def cmd_migrate(_: dict[str, Any]) -> dict[str, Any]:
    """Migrate the database."""
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    # The API's throttling keeps its counts in the database cache.
    call_command("createcachetable", verbosity=0)
    return {"seconds": time.perf_counter() - started}


def cmd_seed(args: dict[str, Any]) -> dict[str, Any]:
    """Create measured jobs (through job_save) and other jobs (bulk)."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    far = FarSchedules(now)
    measured = []
    for i in range(int(args.get("measured", 0))):
        doc, _ = far.pick()
        job = Job(name=f"bench-{i:05d}", script=SCRIPT, timezone="UTC")
        job = job_save(job=job, schedules=[doc], now=now)
        measured.append(job.pk)
    bulk_jobs(int(args.get("other", 0)), prefix="other", start=0, far=far)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "measured": measured,
        "jobs": Job.objects.count(),
        "seconds": time.perf_counter() - started,
    }


def cmd_arm(args: dict[str, Any]) -> dict[str, Any]:
    """Set next_run_at of jobs to now + lead + offset; wake the workers."""
    pairs = [(int(pk), float(offset)) for pk, offset in args["slots"]]
    t0 = time.time_ns() + int(float(args["lead"]) * 1e9)
    slots = []
    with transaction.atomic():
        by_at: dict[int, list[int]] = {}
        for pk, offset in pairs:
            # Microseconds: what the database stores.
            at_ns = (t0 + int(offset * 1e9)) // 1000 * 1000
            by_at.setdefault(at_ns, []).append(pk)
            slots.append([pk, at_ns])
        for at_ns, pks in by_at.items():
            Job.objects.filter(pk__in=pks).update(next_run_at=from_ns(at_ns))
        wakeup_notify()
    return {"t0": t0, "slots": slots, "armed_at": time.time_ns()}


def cmd_notify_feed(args: dict[str, Any]) -> dict[str, Any]:
    """Set up a webhook channel and feed failing runs (bench/notify.py)."""
    from notify import feed_failures, notifications_setup

    job = notifications_setup(str(args["url"]))
    ended: dict[int, float] = {}
    feed_failures(job, int(args["count"]), float(args["seconds"]), ended)
    return {"ended": ended, "job": job.pk}


def cmd_collect(_: dict[str, Any]) -> dict[str, Any]:
    """Return every run row as plain numbers and strings."""
    rows = JobRun.objects.order_by("pk").values_list(
        "pk",
        "job_id",
        "scheduled_for",
        "attempt",
        "status",
        "started_at",
        "finished_at",
        "trigger",
    )
    return {
        "runs": [
            [pk, job, to_ns(slot), attempt, status, to_ns(start), to_ns(end), trig]
            for pk, job, slot, attempt, status, start, end, trig in rows
        ]
    }


def cmd_batch(args: dict[str, Any]) -> dict[str, Any]:
    """Queue a run of each of ``jobs`` through the batch endpoint, timed."""
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from accounts.models import APIKey
    from accounts.services.api_keys import api_key_create
    from jobportal import clock

    user = get_user_model().objects.create_superuser(
        "bench-batch", "bench-batch@example.com", None
    )
    _, raw_key = api_key_create(
        api_key=APIKey(owner=user, name="bench"), actor=user, now=clock.now()
    )
    body = {"runs": [{"job": int(pk)} for pk in args["jobs"]]}
    client = APIClient(HTTP_AUTHORIZATION=f"Api-Key {raw_key}", SERVER_NAME="localhost")
    requested_ns = time.time_ns()
    response = client.post("/api/runs", body, format="json")
    answered_ns = time.time_ns()
    runs = (
        [item["id"] for item in response.json()] if response.status_code == 201 else []
    )
    return {
        "requested_ns": requested_ns,
        "answered_ns": answered_ns,
        "status": response.status_code,
        "runs": runs,
    }


# --- scheduling cost ----------------------------------------------------------


class Clock:
    """An injected clock that the benchmark moves by hand."""

    def __init__(self, now: datetime) -> None:
        """Start at `now`."""
        self.now = now

    def __call__(self) -> datetime:
        """Return the current fake time."""
        return self.now

    def tick(self, ms: float = 1.0) -> None:
        """Move on by `ms` milliseconds."""
        self.now += timedelta(milliseconds=ms)


STEPS = {
    "find_due": lambda loop: loop.schedule_due_slots(max_batches=1),
    "claim": lambda loop: loop.claim_runs(loop.concurrency),
    "next_due": lambda loop: loop.seconds_until_next(),
    "heartbeat": lambda loop: loop.heartbeat(),
    "recover_lost": lambda loop: loop.recover_lost_runs(),
    "idle_cycle": lambda loop: loop.run_once(),
}


class StepBench:
    """The worker's steps on one database of `size` jobs, timed in rounds."""

    def __init__(self, size: int) -> None:
        """Create the jobs and a registered worker loop on an injected clock."""
        self.clock = Clock(datetime.now(UTC))
        self.far = FarSchedules(self.clock())
        self.rng = random.Random(size)  # noqa: S311 - a repeatable choice
        bulk_jobs(size, prefix="size", start=0, far=self.far)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.loop = WorkerLoop(stop=threading.Event(), clock=self.clock, name="steps")
        self.loop.register()
        self.fresh_ids = list(Job.objects.values_list("pk", flat=True))
        self.rng.shuffle(self.fresh_ids)
        self.armed: list[tuple[int, datetime]] = []
        self.times: dict[str, list[float]] = {}
        self.queries: dict[str, int] = {}

    def time(self, key: str, step: Callable[[], object]) -> None:
        """Time one call of `step` (counting its queries the first time)."""
        if key in self.queries:
            started = time.perf_counter()
            step()
            elapsed = time.perf_counter() - started
        else:
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                step()
                elapsed = time.perf_counter() - started
            self.queries[key] = len(captured.captured_queries)
        self.times.setdefault(key, []).append(elapsed * 1000)

    def round(self, reps: int) -> None:
        """Time every step `reps` times (the change-driven ones a quarter)."""
        for key, step in STEPS.items():
            for _ in range(reps):
                self.clock.tick()
                self.time(key, partial(step, self.loop))
        for _ in range(max(reps // 4, 2)):
            self.edit_one()
            self.time("cycle_after_edit", self.loop.run_once)
            self.due_one()

    def edit_one(self) -> None:
        """Change one job's schedule through the service, as the admin does."""
        self.clock.tick()
        job = Job.objects.get(pk=self.rng.choice(self.fresh_ids))
        doc, _ = self.far.pick()
        job_save(job=job, schedules=[doc], now=self.clock())

    def due_one(self) -> None:
        """Make one job due; time scheduling its slot and claiming its run."""
        self.clock.tick()
        pk = self.fresh_ids.pop()
        slot = self.clock() - timedelta(microseconds=1)
        Job.objects.filter(pk=pk).update(next_run_at=slot)
        self.armed.append((pk, slot))
        self.time(
            "schedule_one_due", lambda: self.loop.schedule_due_slots(max_batches=1)
        )
        claimed: list[JobRun] = []
        self.time("claim_one", lambda: claimed.extend(self.loop.claim_runs(1)))
        # Never executed here: close it so that it stays out of the way.
        JobRun.objects.filter(pk__in=[run.pk for run in claimed]).update(
            status=JobRun.Status.SUCCEEDED, finished_at=self.clock()
        )

    def finish(self, backlog_count: int) -> dict[str, Any]:
        """Measure the burst (if asked), count the runs, stop the loop."""
        burst = backlog(self.loop, self.clock, backlog_count, self.armed)
        self.loop.stop.set()
        self.loop.shutdown()
        return {
            "times": self.times,
            "queries": self.queries,
            "counts": slot_counts(self.armed),
            "backlog": burst,
        }


def reply(message: dict[str, Any]) -> None:
    """Send one JSON line to the benchmark."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def cmd_steps(args: dict[str, Any]) -> dict[str, Any]:
    """Serve timing rounds for one table size until told to finish.

    Reads JSON lines from stdin: ``{"do": "round", "reps": N}`` times every
    step N more times; ``{"do": "finish", "backlog": M}`` returns the times.
    The benchmark runs one such process per size and alternates rounds
    between them, so that drifting load on the machine hits every size alike.
    """
    started = time.perf_counter()
    bench = StepBench(int(args["size"]))
    reply({"ready": Job.objects.count(), "seconds": time.perf_counter() - started})
    for line in sys.stdin:
        message = json.loads(line)
        if message["do"] == "round":
            bench.round(int(message["reps"]))
            reply({"done": True})
        else:
            return bench.finish(int(message.get("backlog", 0)))
    raise SystemExit("stdin closed before finish")


def slot_counts(armed: list[tuple[int, datetime]]) -> dict[str, int]:
    """Compare the runs recorded with the slots made due (job, instant)."""
    per_slot = Counter(
        JobRun.objects.filter(trigger=JobRun.Trigger.SCHEDULE).values_list(
            "job_id", "scheduled_for"
        )
    )
    found = [per_slot.pop((pk, at), 0) for pk, at in armed]
    return {
        "expected": len(armed),
        "recorded": sum(1 for count in found if count),
        "missed": sum(1 for count in found if not count),
        "duplicated": sum(count - 1 for count in found if count > 1)
        + sum(per_slot.values()),
    }


def backlog(
    loop: WorkerLoop, clock: Clock, count: int, armed: list
) -> dict[str, float]:
    """Time scheduling `count` slots due at once, then claims with them queued.

    What a worker does for a burst, without executing anything: the cost
    per slot of scheduling, and of one claim while `count` runs wait.
    """
    if count <= 0:
        return {}
    clock.tick()
    ids = list(Job.objects.order_by("pk").values_list("pk", flat=True)[:count])
    slot = clock() - timedelta(microseconds=1)
    Job.objects.filter(pk__in=ids).update(next_run_at=slot)
    armed.extend((pk, slot) for pk in ids)
    started = time.perf_counter()
    slots = loop.schedule_due_slots()
    schedule_ms = (time.perf_counter() - started) * 1000
    claims = []
    for _ in range(20):
        clock.tick()
        started = time.perf_counter()
        claimed = loop.claim_runs(1)
        claims.append((time.perf_counter() - started) * 1000)
        JobRun.objects.filter(pk__in=[run.pk for run in claimed]).update(
            status=JobRun.Status.SUCCEEDED, finished_at=clock()
        )
    JobRun.objects.filter(
        status__in=[JobRun.Status.QUEUED, JobRun.Status.RUNNING]
    ).update(status=JobRun.Status.SUCCEEDED, finished_at=clock())
    return {
        "slots": slots,
        "schedule_ms_per_slot": schedule_ms / max(slots, 1),
        "claim_one_ms": statistics.median(claims),
    }


COMMANDS = {
    "migrate": cmd_migrate,
    "seed": cmd_seed,
    "arm": cmd_arm,
    "collect": cmd_collect,
    "notify_feed": cmd_notify_feed,
    "batch": cmd_batch,
    "steps": cmd_steps,
}


def main() -> None:
    """Run one command and print its JSON result."""
    command = sys.argv[1]
    args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    print(json.dumps(COMMANDS[command](args)))


if __name__ == "__main__":
    main()
