"""Measure the admin's "Run selected jobs now" on 1,000 jobs (issue 17).

Run as ``python bench/admin_run_now.py [--reps N] [--jobs N]`` with
JOB_PORTAL_DB_URL naming a database this benchmark may migrate and fill
(default: a temporary SQLite file); prints one line. Each repetition posts
the action for all `--jobs` jobs ("select all", as the admin does past one
page) through Django's test client as a superuser, so the whole admin stack
runs (permission checks, script checks, queueing, audit); the queued runs and
audit events are deleted between repetitions.
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


def bench(reps: int, count: int) -> str:
    """Post the action on `count` jobs `reps` times; return the median."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from accounts.models import AuditEvent
    from jobportal import clock
    from jobs.models import Job, JobRun
    from jobs.services.jobs import job_save

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    tag = f"bench-admin-run-{os.getpid()}"
    user = get_user_model().objects.create_superuser(tag, f"{tag}@example.com", "x")
    jobs = [
        job_save(
            job=Job(name=f"{tag}-{i:04}", script="t.py"),
            schedules=[{"type": "manual"}],
            now=clock.now(),
        )
        for i in range(count)
    ]
    body = {
        "action": "run_now",
        "select_across": "1",
        "index": "0",
        "_selected_action": [str(jobs[0].pk)],
    }
    url = reverse("admin:jobs_job_changelist") + f"?q={tag}"
    client = Client()
    client.force_login(user)
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        response = client.post(url, body)
        times.append(time.perf_counter() - started)
        queued = JobRun.objects.filter(job__in=jobs).count()
        if response.status_code != 302 or queued != count:
            raise SystemExit(
                f"the action answered {response.status_code}, queued {queued} runs"
            )
        JobRun.objects.filter(job__in=jobs).delete()
        AuditEvent.objects.filter(actor=user, action=AuditEvent.Action.RUN).delete()
    Job.objects.filter(pk__in=[job.pk for job in jobs]).delete()
    user.delete()
    median = statistics.median(times)
    return (
        f"{connection.vendor}: admin run_now on {count} jobs, median of {reps}: "
        f"{median * 1000:.0f} ms ({median / count * 1e6:.0f} us per job; "
        f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms)"
    )


def main() -> None:
    """Parse the options, run the measurement, print the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1000)
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
        line = bench(options.reps, options.jobs)
    sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main()
