"""Measure the metrics consumer's CPU per ended run (issue 17).

    .venv/bin/python bench/metrics_consume.py [--db sqlite|postgres]
        [--jobs 200] [--batches 10]

A fresh database (a temp SQLite file, or a PostgreSQL database
``jobportal_metrics_bench_<pid>`` on the local server, dropped after) gets
`--jobs` jobs. Each repetition ends one run of every job (`runs_end`, as the
worker does: one event each), then times `metrics_consume`, the worker's
step, until it has counted them all: the events of a burst of runs of
different jobs, the worst case for the per-job rows. Prints the median CPU
(this process's, so the database server's own is left out on PostgreSQL)
and wall time per counted run.
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


def measure(jobs: int, batches: int) -> tuple[list[float], list[float]]:
    """Return the CPU and wall ms per counted run of each repetition."""
    from jobportal import clock
    from jobs.models import Job, JobRun
    from jobs.services.metrics import metrics_consume, metrics_register
    from jobs.services.outcomes import runs_end

    now = clock.now()
    metrics_register(now=now)
    # The script need not exist: nothing runs.
    Job.objects.bulk_create(
        Job(name=f"metrics-bench-{n:05d}", script="t.py") for n in range(jobs)
    )
    job_ids = list(Job.objects.order_by("pk").values_list("pk", flat=True))
    cpu, wall = [], []
    for rep in range(batches):
        at = now + timedelta(minutes=rep)
        runs_end(
            records=[
                JobRun(
                    job_id=job_id,
                    scheduled_for=at,
                    not_before=at,
                    attempt=1,
                    trigger=JobRun.Trigger.SCHEDULE,
                    status=JobRun.Status.SUCCEEDED,
                    queued_at=at,
                    started_at=at + timedelta(milliseconds=20),
                    finished_at=at + timedelta(milliseconds=70),
                )
                for job_id in job_ids
            ],
            now=at,
        )
        cpu0, wall0 = time.process_time(), time.perf_counter()
        counted = 0
        while done := metrics_consume(now=at):
            counted += done
        cpu.append((time.process_time() - cpu0) * 1e3 / counted)
        wall.append((time.perf_counter() - wall0) * 1e3 / counted)
    return cpu, wall


def main() -> None:
    """Parse the options, measure, print one line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobportal.settings")
    os.environ["JOB_PORTAL_LOG_LEVEL"] = "WARNING"
    folder = tempfile.mkdtemp(prefix="metrics-bench-")
    name = f"jobportal_metrics_bench_{os.getpid()}"
    if args.db == "postgres":
        os.environ["JOB_PORTAL_DB_URL"] = f"{PG_SERVER}/{name}"
    else:
        os.environ["JOB_PORTAL_DB_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if args.db == "postgres":
        with pg_admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        call_command("migrate", verbosity=0)
        cpu, wall = measure(args.jobs, args.batches)
        print(
            f"bench/metrics_consume.py --db {args.db}: {args.jobs} runs of "
            f"{args.jobs} jobs, {args.batches} times; metrics_consume per run: "
            f"CPU median {statistics.median(cpu):.3f} ms (min {min(cpu):.3f}), "
            f"wall median {statistics.median(wall):.3f} ms; "
            f"load {os.getloadavg()[0]:.2f}"
        )
    finally:
        connection.close()
        if args.db == "postgres":
            with pg_admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
