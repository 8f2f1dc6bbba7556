"""Downstream start latency after upstream end, over a chain of jobs.

    .venv/bin/python bench/dependencies.py [--links 100] [--db sqlite|postgres]

Builds a chain of `links` + 1 jobs (job 0 → job 1 → … → job N, each
`all_success` on the one before, manual schedules) in a fresh, migrated
database, starts one real ``manage.py runworker``, runs job 0 and waits
for the last job's run. Each link's latency is the downstream run's
`started_at` minus the upstream run's `finished_at` (both the worker's
clock): the run event, the "dependencies" consumer queueing the
downstream run, the claim and the process start. Prints p50, p99, mean
and max in milliseconds. Every database, process and folder it creates is
removed again.

The Django side runs in subprocesses of this file (``--ops setup|start|
collect``), as `bench/portal_ops.py` does for `bench/run.py`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import (
    PROJECT,
    PYTHON,
    SCRIPT_NAME,
    BenchError,
    Databases,
    Processes,
    Workspace,
    portal_env,
    wait_for,
)

THIS = Path(__file__).resolve()
OPS_TIMEOUT = 120.0
# The whole chain must finish within this (the bench stays under 2 min).
CHAIN_TIMEOUT = 100.0
PREFIX = "chain-"


def run_ops(command: str, args: dict[str, Any], env: dict[str, str]) -> Any:
    """Run this file's Django side once; return its JSON answer."""
    done = subprocess.run(
        [PYTHON, str(THIS), "--ops", command, json.dumps(args)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=OPS_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"{command} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile of `values`."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def measure(kind: str, links: int, tmp: Path) -> list[float]:
    """Run the chain once on a fresh `kind` database; return latencies (ms)."""
    ws = Workspace(tmp / "ws")
    dbs = Databases(kind, tmp)
    procs = Processes()
    try:
        dbs.make_template(portal_env(dbs.url(dbs.template), ws))
        env = portal_env(dbs.url(dbs.clone("deps")), ws)
        run_ops("setup", {"links": links}, env)
        worker = procs.start(env, tmp, "bench-deps")
        worker.wait_started()
        run_ops("start", {}, env)
        wait_for(
            lambda: ws.result_count() >= links + 1,
            timeout=CHAIN_TIMEOUT,
            what=f"{links + 1} chained runs",
            every=0.2,
        )
        latencies: list[float] = run_ops("collect", {"links": links}, env)
        return latencies
    finally:
        procs.stop_all()
        dbs.drop_all()


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print the figures; return 1 if the bench broke."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=100)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="jobportal-bench-deps-"))
    started = time.monotonic()
    try:
        latencies = measure(args.db, args.links, tmp)
    except BenchError as exc:
        print(f"ABORTED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"downstream start after upstream end, {len(latencies)} links, "
        f"{args.db}, 1 worker, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.2f}, {time.monotonic() - started:.0f} s:"
    )
    print(
        f"  p50 {percentile(latencies, 0.50):.0f} ms  "
        f"p99 {percentile(latencies, 0.99):.0f} ms  "
        f"mean {statistics.fmean(latencies):.0f} ms  max {max(latencies):.0f} ms"
    )
    return 0


# --- the Django side -----------------------------------------------------------


def ops(command: str, args: dict[str, Any]) -> Any:
    """Set up the chain, start it, or read its latencies (Django loaded)."""
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobportal.settings")
    import django

    django.setup()
    from jobportal import clock
    from jobs.models import Job, JobRun
    from jobs.services.jobs import job_save
    from jobs.services.runs import job_run_now

    names = [f"{PREFIX}{n:03d}" for n in range(args.get("links", 0) + 1)]
    if command == "setup":
        now = clock.now()
        for index, name in enumerate(names):
            deps = [{"job": names[index - 1], "window_hours": None}] if index else []
            job_save(
                job=Job(name=name, script=SCRIPT_NAME),
                schedules=[{"type": "manual"}],
                dependencies=deps,
                now=now,
            )
        return {"jobs": len(names)}
    if command == "start":
        first = Job.objects.filter(name__startswith=PREFIX).order_by("name").first()
        assert first is not None
        return {"run": job_run_now(job=first, requested_by=None, now=clock.now()).pk}
    runs = {
        run.job.name: run
        for run in JobRun.objects.select_related("job").filter(
            job__name__in=names, status=JobRun.Status.SUCCEEDED
        )
    }
    latencies = []
    for up, down in itertools.pairwise(names):
        ended, started = runs[up].finished_at, runs[down].started_at
        assert ended is not None
        assert started is not None
        latencies.append((started - ended).total_seconds() * 1000)
    return latencies


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--ops":
        print(json.dumps(ops(sys.argv[2], json.loads(sys.argv[3]))))
        sys.exit(0)
    sys.exit(main())
