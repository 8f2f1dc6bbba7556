"""Measure `POST /api/runs` queueing 1,000 runs in one request (issue 16).

Run as ``python bench/batch_runs.py [--reps N] [--size N]`` with
JOB_PORTAL_DB_URL naming a database this benchmark may migrate and fill
(default: a temporary SQLite file); prints one line. Each repetition posts
`--size` items spread over 10 jobs (each with one declared parameter) through
DRF's test client, so the whole stack runs (authentication, throttling,
validation, permissions, one transaction, one audit event) without a
network; the queued runs are deleted between repetitions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobportal.settings")
os.environ.setdefault("JOB_PORTAL_LOG_LEVEL", "WARNING")


def bench(reps: int, size: int) -> str:
    """Post `size` runs `reps` times; return the median and the per-run cost."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient

    from jobportal import clock
    from jobs.models import Job, JobRun
    from jobs.services.jobs import job_save

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    tag = f"bench-batch-{os.getpid()}"
    user = get_user_model().objects.create_superuser(tag, f"{tag}@example.com", "x")
    parameter = {"name": "limit", "type": "integer", "default": "1"}
    jobs = [
        job_save(
            job=Job(name=f"{tag}-{i}", script="t.py"),
            schedules=[{"type": "manual"}],
            parameters=[parameter],
            now=clock.now(),
        )
        for i in range(10)
    ]
    body = {
        "runs": [
            {"job": jobs[i % len(jobs)].pk, "parameters": {"limit": i}}
            for i in range(size)
        ]
    }
    client = APIClient()
    client.force_authenticate(user)
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        response = client.post("/api/runs", body, format="json")
        times.append(time.perf_counter() - started)
        if response.status_code != 201:
            raise SystemExit(f"POST /api/runs answered {response.status_code}")
        JobRun.objects.filter(job__in=jobs).delete()
    for job in jobs:
        job.delete()
    user.delete()
    median = statistics.median(times)
    return (
        f"{connection.vendor}: POST /api/runs with {size} runs, median of {reps}: "
        f"{median * 1000:.0f} ms ({median / size * 1e6:.0f} us per run; "
        f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms)"
    )


def main() -> None:
    """Parse the options, run the measurement, print the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--size", type=int, default=1000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "t.py").write_text("pass\n")
        os.environ.setdefault(
            "JOB_PORTAL_DB_URL", f"sqlite:///{folder / 'bench.sqlite3'}"
        )
        os.environ["JOB_PORTAL_SCRIPTS_DIR"] = str(folder)
        os.environ["JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL"] = "false"
        os.environ.setdefault("JOB_PORTAL_ALLOWED_HOSTS", "testserver")
        line = bench(options.reps, options.size)
    sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main()
