"""Measure what issue 13's items 4 and 5 add: interpreter modes and the total cap.

Run as ``python bench/guard.py [--reps N]`` with JOB_PORTAL_DB_URL naming a
database this benchmark may migrate and fill (default: a temporary SQLite
file); prints one line per figure. Two measurements:

* the start-to-exit time of a trivial script through `jobs.runner`, with
  the plain interpreters and with the isolated ones (`python -I`, `bash
  --noprofile --norc -p`), alternating so that load drifts hit both alike;
* one claim of one queued run (`runs_claim`), without and with
  JOB_PORTAL_MAX_CONCURRENT_TOTAL, alternating likewise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobportal.settings")
os.environ.setdefault("JOB_PORTAL_LOG_LEVEL", "WARNING")


def median_ms(times: list[float]) -> float:
    """Return the median of `times` (seconds) in milliseconds."""
    return statistics.median(times) * 1000


def bench_interpreters(folder: Path, reps: int) -> list[str]:
    """Time trivial .py and .sh scripts, plain against isolated interpreters."""
    from jobs.runner import ProcessSpec, interpreter_argv, run_process

    scripts = {".py": folder / "t.py", ".sh": folder / "t.sh"}
    scripts[".py"].write_text("pass\n")
    scripts[".sh"].write_text("true\n")
    lines = []
    for suffix, script in scripts.items():
        isolated = interpreter_argv(script, [])
        plain = [isolated[0], str(script)]
        times: dict[str, list[float]] = {"plain": [], "isolated": []}
        for _ in range(reps):
            for label, argv in (("plain", plain), ("isolated", isolated)):
                spec = ProcessSpec(
                    argv=argv, cwd=str(folder), env=dict(os.environ), timeout_seconds=30
                )
                started = time.perf_counter()
                run_process(spec)
                times[label].append(time.perf_counter() - started)
        lines.append(
            f"{suffix} start to exit, median of {reps}: plain "
            f"{median_ms(times['plain']):.2f} ms, isolated "
            f"{median_ms(times['isolated']):.2f} ms"
        )
    return lines


def bench_claims(reps: int) -> str:
    """Time claiming one queued run without and with a total cap."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from jobs.models import Job, JobRun, Schedule, Worker
    from jobs.services.claims import runs_claim

    call_command("migrate", verbosity=0)
    now = datetime.now(UTC)
    job = Job.objects.create(
        name=f"bench-guard-{os.getpid()}",
        script="t.py",
        concurrency_policy=Job.ConcurrencyPolicy.ALLOW,
        max_concurrent=10_000,
    )
    Schedule.objects.create(job=job, document={"type": "manual"})
    worker = Worker.objects.create(
        name=f"bench-guard-{os.getpid()}",
        host="bench",
        pid=os.getpid(),
        started_at=now,
        last_heartbeat_at=now,
    )
    times: dict[str, list[float]] = {"off": [], "on": []}

    def claim_one(cap: int, label: str, index: int) -> None:
        settings.JOB_PORTAL_MAX_CONCURRENT_TOTAL = cap
        at = now - timedelta(seconds=index)
        JobRun.objects.create(
            job=job,
            scheduled_for=at,
            attempt=1 if label == "off" else 2,
            status=JobRun.Status.QUEUED,
            queued_at=at,
            not_before=at,
        )
        started = time.perf_counter()
        claimed = runs_claim(worker=worker, now=now, limit=1)
        times[label].append(time.perf_counter() - started)
        JobRun.objects.filter(pk__in=[run.pk for run in claimed]).update(
            status=JobRun.Status.SUCCEEDED
        )

    steps: list[Callable[[int], None]] = [
        lambda i: claim_one(0, "off", i),
        lambda i: claim_one(1_000_000, "on", i),
    ]
    for index in range(reps):
        for step in steps:
            step(index)
    job.delete()
    worker.delete()
    return (
        f"{connection.vendor}: claim 1 queued run, median of {reps}: no cap "
        f"{median_ms(times['off']):.2f} ms, with a cap {median_ms(times['on']):.2f} ms"
    )


def main() -> None:
    """Parse the options, run both measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    reps = parser.parse_args().reps
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ.setdefault(
            "JOB_PORTAL_DB_URL", f"sqlite:///{folder / 'bench.sqlite3'}"
        )
        os.environ["JOB_PORTAL_SCRIPTS_DIR"] = str(folder)
        lines = bench_interpreters(folder, reps)
        lines.append(bench_claims(reps))
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
