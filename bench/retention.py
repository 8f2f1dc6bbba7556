"""Retention benchmark: database growth over simulated weeks, with and without.

Run from the project root (about 80 s on SQLite, 2 cores)::

    .venv/bin/python bench/retention.py [--weeks 6] [--jobs 10] [--every 15]

Each job records one finished run every `--every` minutes with 1 KiB of
output (what `runs_end` stores for a chatty script), day after day, in a
fresh SQLite database in a temp folder. After each simulated day the
retention the worker applies runs to completion (`retention_apply` until
nothing is due, as `manage.py prunelogs` does) with runs kept 14 days and
output kept 3 days; the same days are recorded once more without retention.
The table gives, at the end of each week, the run rows, the database's size
after a VACUUM (SQLite reuses freed space without one; the VACUUM only makes
the figure exact) and the time that week's retention took.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ("x" * 63 + "\n") * 16  # 1 KiB
KEEP_DAYS, OUTPUT_DAYS = 14, 3
START = datetime(2026, 1, 5, tzinfo=UTC)


def setup(folder: Path) -> None:
    """Point Django at a fresh SQLite database in `folder` and migrate it."""
    os.environ["JOB_PORTAL_DB_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.setdefault("JOB_PORTAL_SECRET_KEY", "bench-retention-not-secret")
    os.environ.setdefault(
        "JOB_PORTAL_ENCRYPTION_KEY", "TZYzC_4CCyE2iSjrAw-Y782Qnki53MXol9Sl4pcYr-4="
    )
    os.environ["JOB_PORTAL_SCRIPTS_DIR"] = str(folder)
    os.environ["JOB_PORTAL_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobportal.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def used_bytes() -> int:
    """Return the database's size after a VACUUM (freed space given back)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM")
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        free = cursor.execute("PRAGMA freelist_count").fetchone()[0]
        size = cursor.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


def simulate(
    *, weeks: int, jobs: int, every: int, retain: bool
) -> list[tuple[int, int, int, float]]:
    """Record the runs day by day; return (week, rows, bytes, seconds) rows."""
    from jobs.models import Job, JobRun
    from jobs.retention import RetentionPolicy
    from jobs.services.retention import retention_apply

    JobRun.objects.all().delete()
    Job.objects.all().delete()
    made = Job.objects.bulk_create(
        Job(name=f"bench-{n}", script="bench.py") for n in range(jobs)
    )
    policy = RetentionPolicy(days=KEEP_DAYS, output_days=OUTPUT_DAYS)
    per_day = 24 * 60 // every
    table = []
    spent = 0.0
    for day in range(weeks * 7):
        runs = []
        for slot in range(per_day):
            at = START + timedelta(days=day, minutes=slot * every)
            runs += [
                JobRun(
                    job=job,
                    scheduled_for=at,
                    trigger=JobRun.Trigger.SCHEDULE,
                    status=JobRun.Status.SUCCEEDED,
                    queued_at=at,
                    not_before=at,
                    started_at=at,
                    finished_at=at + timedelta(seconds=2),
                    exit_code=0,
                    output=OUTPUT,
                )
                for job in made
            ]
        JobRun.objects.bulk_create(runs, batch_size=2000)
        now = START + timedelta(days=day + 1)
        if retain:
            began = time.perf_counter()
            while retention_apply(now=now, policy=policy, batch=2000).is_behind:
                pass
            spent += time.perf_counter() - began
        if (day + 1) % 7 == 0:
            table.append(((day + 1) // 7, JobRun.objects.count(), used_bytes(), spent))
            spent = 0.0
    return table


def main() -> int:
    """Run both simulations and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--every", type=int, default=15, help="minutes between runs")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-retention-") as folder:
        setup(Path(folder))
        args = {"weeks": options.weeks, "jobs": options.jobs, "every": options.every}
        without = simulate(**args, retain=False)
        with_retention = simulate(**args, retain=True)
    per_day = options.jobs * 24 * 60 // options.every
    print(
        f"{options.jobs} jobs, a run every {options.every} min each ({per_day} runs"
        f"/day, 1 KiB output); retention: runs {KEEP_DAYS} days, output"
        f" {OUTPUT_DAYS} days\n"
        "week | rows without | MiB without | rows with | MiB with | retention s/week"
    )
    for (week, rows, size, _), (_, kept, kept_size, spent) in zip(
        without, with_retention, strict=True
    ):
        print(
            f"{week:4d} | {rows:12d} | {size / 2**20:11.1f} | {kept:9d} |"
            f" {kept_size / 2**20:8.1f} | {spent:16.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
