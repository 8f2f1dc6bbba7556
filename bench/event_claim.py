"""Measure one run-event claim against the number of events kept (issue 12).

    .venv/bin/python bench/event_claim.py [--db sqlite|postgres] [--sizes 100,1000,3000]

For each size, a fresh database (a temp SQLite file, or a PostgreSQL database
``jobportal_claim_bench_<pid>`` on the local server, dropped after) gets one
job and that many ended runs' events. The three registered consumers
(dependencies, notifications, metrics) have acked all but the newest 5, as a
worker's consumers have while events flow between two prunes. It prints the
median and p90 of 20 claims of the newest events by "dependencies" (the claim
the worker makes every cycle), each rolled back so that the next one finds
the same rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from harness import PG_SERVER, pg_admin

PROJECT = Path(__file__).resolve().parent.parent
REPEAT = 20
UNREAD = 5


class Rollback(Exception):
    """Undo a measured claim."""


def measure(size: int) -> tuple[float, float]:
    """Return the median and p90 ms of a claim with `size` events kept."""
    from django.db import transaction

    from jobportal import clock
    from jobs.models import Job, JobRun, RunEvent
    from jobs.services.events import run_events_ack, run_events_claim
    from jobs.services.outcomes import runs_end

    now = clock.now()
    # The script need not exist: nothing runs.
    job = Job.objects.create(name=f"claim-bench-{size}", script="t.py")
    runs_end(
        records=[
            JobRun(
                job=job,
                scheduled_for=now - _micro(n),
                not_before=now - _micro(n),
                attempt=1,
                trigger=JobRun.Trigger.MANUAL,
                status=JobRun.Status.FAILED,
                queued_at=now,
                finished_at=now,
            )
            for n in range(size)
        ],
        now=now,
    )
    ids = list(RunEvent.objects.order_by("pk").values_list("pk", flat=True))
    for consumer in ("dependencies", "notifications", "metrics"):
        while run_events_claim(consumer=consumer, limit=1000, now=now):
            pass
        run_events_ack(consumer=consumer, event_ids=ids[:-UNREAD], now=now)
    later = now.replace(year=now.year + 1)  # Past every lease.
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        try:
            with transaction.atomic():
                got = run_events_claim(consumer="dependencies", limit=100, now=later)
                times.append((time.perf_counter() - started) * 1000)
                assert len(got) == UNREAD, len(got)
                raise Rollback
        except Rollback:
            pass
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9) - 1]


def _micro(n: int) -> timedelta:
    return timedelta(seconds=n + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--sizes", default="100,1000,3000")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobportal.settings")
    os.environ["JOB_PORTAL_LOG_LEVEL"] = "WARNING"
    folder = tempfile.mkdtemp(prefix="claim-bench-")
    name = f"jobportal_claim_bench_{os.getpid()}"
    if args.db == "postgres":
        os.environ["JOB_PORTAL_DB_URL"] = f"{PG_SERVER}/{name}"
    else:
        os.environ["JOB_PORTAL_DB_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from jobs.models import Job

    if args.db == "postgres":
        with pg_admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        call_command("migrate", verbosity=0)
        print(f"bench/event_claim.py --db {args.db}: load {os.getloadavg()[0]:.2f}")
        for size in sizes:
            Job.objects.all().delete()
            median, p90 = measure(size)
            print(
                f"  {size:>6} events kept: claim median {median:6.2f} ms"
                f"  p90 {p90:6.2f} ms"
            )
    finally:
        connection.close()
        if args.db == "postgres":
            with pg_admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
