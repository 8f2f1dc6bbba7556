"""Benchmark notifications: event-to-delivery latency, and scheduling lateness.

    .venv/bin/python bench/notify.py [--db sqlite|postgres] [--events 1000]
        [--slots 30] [--port 18061]

In a temp folder with its own database (SQLite in the folder, or a
PostgreSQL database ``jobportal_notify_bench_<pid>`` created on the local
server and dropped after; nothing else is touched), it
starts a real ``manage.py runworker`` (which runs the notification sender in
its own thread) and a local HTTP receiver behind a signed webhook channel
with a rule that sends every failure. Then, in two phases of equal length:

1. *quiet*: `--slots` jobs are armed to be due at exact instants spread over
   the phase; their scripts record when they start;
2. *flowing*: the same, while `--events` failing runs end at a steady rate
   (written through `jobs.services.outcomes.runs_end`, as the worker writes
   them), each giving one notification the worker must deliver.

It prints the delivery latency (receiver's arrival minus the run event's
time) p50/p99/max over all events, and the scheduling lateness (script start
minus slot) p50/p99/max of each phase. Runs in about a minute.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness import PG_SERVER, pg_admin

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SCRIPT_TEXT = """import os, time
started = time.time_ns()
with open(os.path.join({results!r}, os.environ["JOB_RUN_ID"]), "w") as out:
    out.write(str(started))
"""
PHASE_SECONDS = 20.0
LEAD_SECONDS = 2.0
# The default feed: 1,000 failing runs over a phase and its lead.
EVENTS_PER_SECOND = 1000 / (PHASE_SECONDS + LEAD_SECONDS)
DEADLINE_SECONDS = 90.0


class Receiver(BaseHTTPRequestHandler):
    """Record the arrival time of each webhook by its run id."""

    arrivals: dict[int, float] = {}  # noqa: RUF012 - shared by the server's threads
    keys: set[str] = set()  # noqa: RUF012
    repeats = 0

    def do_POST(self) -> None:
        """Keep the arrival time and answer 200."""
        arrived = time.time()
        body = self.rfile.read(int(self.headers["Content-Length"]))
        payload = json.loads(body)
        key = payload["idempotency_key"]
        if key in Receiver.keys:
            Receiver.repeats += 1
        Receiver.keys.add(key)
        Receiver.arrivals[int(payload["run_id"])] = arrived
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


def setup_env(root: Path, db_url: str) -> dict[str, str]:
    """Prepare the folder and return the portal's environment."""
    for sub in ("scripts", "results", "artifacts"):
        (root / sub).mkdir(parents=True)
    script = SCRIPT_TEXT.format(results=str(root / "results"))
    (root / "scripts" / "bench_job.py").write_text(script)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOB_PORTAL_")}
    env.update(
        {
            "JOB_PORTAL_DB_URL": db_url,
            "JOB_PORTAL_SCRIPTS_DIR": str(root / "scripts"),
            "JOB_PORTAL_ARTIFACTS_DIR": str(root / "artifacts"),
            "JOB_PORTAL_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "JOB_PORTAL_ENCRYPTION_KEY": base64.urlsafe_b64encode(
                os.urandom(32)
            ).decode(),
            "JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL": "false",
            "DJANGO_SETTINGS_MODULE": "jobportal.settings",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def percentiles(values: list[float]) -> str:
    """Return "p50 / p99 / max" in milliseconds."""
    if not values:
        return "no samples"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"p50 {statistics.median(ordered) * 1000:8.1f} ms   "
        f"p99 {p99 * 1000:8.1f} ms   max {ordered[-1] * 1000:8.1f} ms   "
        f"(n={len(ordered)})"
    )


def wait_for(check: Any, timeout: float, what: str) -> None:
    """Poll `check` until it is true; raise at the deadline."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Portal:
    """The Django side, in this process: jobs, arming, feeding events."""

    def __init__(self, url: str, slots: int) -> None:
        """Migrate, create the channel and the jobs."""
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from jobs.models import Job
        from jobs.services.jobs import job_save

        now = datetime.now(UTC)
        far = far_schedule(now)
        self.measured = [
            job_save(
                job=Job(name=f"measured-{n}", script="bench_job.py"),
                schedules=[far],
                now=now,
            ).pk
            for n in range(slots)
        ]
        self.failing = notifications_setup(url)

    def arm(self, offsets: list[float]) -> dict[int, int]:
        """Make each measured job due at now + lead + offset; return slot ns."""
        from jobs.models import Job
        from jobs.wakeup import wakeup_notify

        t0 = time.time_ns() + int(LEAD_SECONDS * 1e9)
        slots = {}
        for pk, offset in zip(self.measured, offsets, strict=True):
            at_ns = (t0 + int(offset * 1e9)) // 1000 * 1000
            at = datetime.fromtimestamp(at_ns / 1e9, UTC)
            Job.objects.filter(pk=pk).update(next_run_at=at)
            slots[pk] = at_ns
        wakeup_notify()
        return slots

    def lateness(self, slots: dict[int, int], results: Path) -> list[float]:
        """Return start minus slot (seconds) for the armed runs."""
        from jobs.models import JobRun

        runs = JobRun.objects.filter(job_id__in=list(slots)).values_list(
            "pk", "job_id", "scheduled_for"
        )
        found = []
        for pk, job_id, slot in runs:
            path = results / str(pk)
            if path.exists() and path.read_text().strip():
                slot_ns = int(slot.timestamp() * 1e6) * 1000
                if slot_ns == slots[job_id]:
                    found.append((int(path.read_text()) - slot_ns) / 1e9)
        return found

    def feed(self, count: int, seconds: float, ended: dict[int, float]) -> None:
        """End `count` failing runs over `seconds`, noting each event's time."""
        feed_failures(self.failing, count, seconds, ended)


def far_schedule(now: datetime) -> dict[str, Any]:
    """Return a yearly schedule whose next slot lies months ahead."""
    return {
        "type": "yearly",
        "month": (now.month + 5) % 12 + 1,
        "day": 1,
        "time": "03:00",
    }


def notifications_setup(url: str) -> Any:
    """Create a webhook channel, a rule and the failing job; return the job.

    The channel is a signed webhook to `url`; its rule sends every failure
    (not only changes), so each fed run gives one notification.
    """
    from jobs.models import Job
    from jobs.services.jobs import job_save
    from notifications.models import Channel, Rule
    from notifications.services.channels import channel_save

    now = datetime.now(UTC)
    channel = channel_save(
        channel=Channel(name="bench", kind="webhook"),
        secrets={"url": url, "secret": "bench-secret"},
        now=now,
    )
    Rule.objects.create(channel=channel, triggers=["failure"], only_on_change=False)
    return job_save(
        job=Job(name="failing", script="bench_job.py"),
        schedules=[far_schedule(now)],
        now=now,
    )


def feed_failures(
    job: Any, count: int, seconds: float, ended: dict[int, float]
) -> None:
    """End `count` failing runs of `job` at a steady rate over `seconds`.

    Written through `jobs.services.outcomes.runs_end`, as the worker writes
    them; `ended` gets each run's id and its event's time (epoch seconds).
    """
    from jobs.models import JobRun
    from jobs.services.outcomes import runs_end

    start = time.monotonic()
    for n in range(count):
        target = start + seconds * n / count
        pause = target - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        now = datetime.now(UTC)
        run = JobRun(
            job=job,
            scheduled_for=now - timedelta(days=1, microseconds=n),
            attempt=1,
            trigger=JobRun.Trigger.MANUAL,
            status=JobRun.Status.FAILED,
            queued_at=now,
            not_before=now,
            started_at=now,
            finished_at=now,
            exit_code=1,
            reason="Exit code 1",
            reason_code="exit_code",
        )
        (done,) = runs_end(now=now, records=[run])
        ended[done.pk] = now.timestamp()


def receiver_start(port: int = 0) -> ThreadingHTTPServer:
    """Serve `Receiver` on 127.0.0.1:`port` (0: a free one) in a thread."""
    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def phase(
    portal: Portal, results: Path, *, feed: int, label: str
) -> tuple[list[float], dict[int, float]]:
    """Arm the measured jobs over the phase, feeding events if asked."""
    slots = len(portal.measured)
    offsets = [PHASE_SECONDS * (n + 0.5) / slots for n in range(slots)]
    ended: dict[int, float] = {}
    feeder = None
    if feed:
        feeder = threading.Thread(
            target=portal.feed, args=(feed, PHASE_SECONDS + LEAD_SECONDS, ended)
        )
        feeder.start()
    armed = portal.arm(offsets)
    wait_for(
        lambda: len(portal.lateness(armed, results)) >= slots,
        DEADLINE_SECONDS,
        f"{label} runs",
    )
    if feeder is not None:
        feeder.join(DEADLINE_SECONDS)
    return portal.lateness(armed, results), ended


def main() -> int:
    """Run both phases and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=30)
    parser.add_argument("--port", type=int, default=18061)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument(
        "--no-sender",
        action="store_true",
        help="the worker sends nothing (runworker --no-notifications): the "
        "events' own load on the database, for comparison",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="jobportal-notify-bench-"))
    pg_name = f"jobportal_notify_bench_{os.getpid()}"
    if args.db == "postgres":
        with pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        db_url = f"{PG_SERVER}/{pg_name}"
    else:
        db_url = f"sqlite:///{root / 'db.sqlite3'}"
    env = setup_env(root, db_url)
    os.environ.update(env)
    sys.path.insert(0, str(PROJECT))
    server = receiver_start(args.port)
    worker = None
    try:
        portal = Portal(f"http://127.0.0.1:{args.port}/hook", args.slots)
        log = (root / "worker.log").open("wb")
        worker = subprocess.Popen(
            [PYTHON, "manage.py", "runworker", "--skip-checks", "--name", "bench"]
            + (["--no-notifications"] if args.no_sender else []),
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(
            lambda: b"Worker bench started" in (root / "worker.log").read_bytes(),
            60,
            "the worker to start",
        )
        results = root / "results"
        quiet, _ = phase(portal, results, feed=0, label="quiet")
        flowing, ended = phase(portal, results, feed=args.events, label="flowing")
        wait_for(
            lambda: args.no_sender or len(Receiver.arrivals) >= args.events,
            DEADLINE_SECONDS,
            f"{args.events} deliveries (got {len(Receiver.arrivals)})",
        )
        latency = [
            Receiver.arrivals[pk] - at
            for pk, at in ended.items()
            if pk in Receiver.arrivals
        ]
        print(
            f"bench/notify.py --db {args.db}: {len(Receiver.arrivals)} notifications "
            f"delivered, {Receiver.repeats} repeats; load average now "
            f"{os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)"
        )
        print(f"event-to-delivery latency   {percentiles(latency)}")
        print(f"lateness, quiet             {percentiles(quiet)}")
        print(f"lateness, notifications     {percentiles(flowing)}")
        return 0
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=45)
            except subprocess.TimeoutExpired:
                worker.kill()
        server.shutdown()
        if args.db == "postgres":
            # FORCE: this process's own connection is still open.
            with pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
