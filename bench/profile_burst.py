"""Profile the worker's own CPU through a burst of runs (issue 17).

    .venv/bin/python bench/profile_burst.py [--db sqlite|postgres] [--runs 300]
        [--top 30] [--rate 200] [--idle SECONDS]

Needs py-spy (``.venv/bin/pip install py-spy``; not a requirement). With the
same set-up as ``bench/run.py``'s throughput phase (a fresh database, a real
``manage.py runworker`` with default settings, `--runs` jobs due at one
instant), it samples the worker process (all its threads, only while they
hold the interpreter lock: py-spy ``--gil``, which leaves out waits for the
database's lock and sleeps in C that py-spy's own idle test counts as
running) until every run has finished. It
prints the worker's CPU per run from /proc (user and system, and the minor page
faults per run: a fork makes every page the worker writes next a fault),
then the project's and Django's
functions by share of the samples they appear in ("inclusive"), and the
leaf functions the samples end in ("self"), so that where the worker's time
goes can be read without a flame graph. The raw folded stacks are kept
beside the log with ``--keep``. ``--no-spy`` prints only the CPU figures,
from a worker that no sampling slows (py-spy's stops inflate them).

With ``--idle SECONDS`` it measures instead an idle worker with 10,000 jobs
defined and none due (``bench/run.py``'s idle phase): its CPU per minute
(with its fork server's) over that long, at a resolution of a clock tick
(10 ms) per window, then samples it with py-spy for as long.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import (
    Databases,
    Processes,
    Workspace,
    cpu_seconds,
    portal_env,
    run_ops,
    wait_for,
    worker_cpu_seconds,
)
from scenarios import collect

BENCH = Path(__file__).resolve().parent
SPY = Path(sys.executable).with_name("py-spy")
LEAD_SECONDS = 2.0
# Frames from these paths are counted (the rest is the standard library).
OWN = ("jobs/", "jobportal/", "notifications/", "accounts/", "django/", "psycopg/")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--idle", type=float, default=0.0)
    parser.add_argument(
        "--no-spy",
        action="store_true",
        help="only the CPU figures, without py-spy's samples slowing the worker",
    )
    args = parser.parse_args()
    if not args.no_spy and not SPY.exists():
        print(f"py-spy not found at {SPY}: .venv/bin/pip install py-spy")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="profile-burst-"))
    dbs = Databases(args.db, tmp)
    procs = Processes()
    try:
        ws = Workspace(tmp / "ws")
        env = portal_env(dbs.url(dbs.template), ws)
        dbs.make_template(env)
        name = dbs.clone("burst")
        env = portal_env(dbs.url(name), ws)
        seed = (
            {"measured": 0, "other": 10_000} if args.idle else {"measured": args.runs}
        )
        ids = run_ops("seed", seed, env)["measured"]
        worker = procs.start(env, tmp, "profile-burst")
        worker.wait_started()
        time.sleep(2.0)  # Let the spares start and the first cycles pass.
        folded = tmp / "worker.folded"
        if args.idle:
            # Measured before py-spy attaches: its samples stop the process.
            idle0, started = worker_cpu_seconds(worker.proc.pid), time.monotonic()
            time.sleep(args.idle)
            idle = worker_cpu_seconds(worker.proc.pid) - idle0
            per_minute = idle / (time.monotonic() - started) * 60
            print(
                f"bench/profile_burst.py --db {args.db} --idle {args.idle:g}: worker "
                f"and fork server {per_minute:.3f} CPU-s/min; then py-spy for as "
                f"long; load {os.getloadavg()[0]:.2f}"
            )
        spy = (
            None
            if args.no_spy
            else subprocess.Popen(
                [
                    str(SPY),
                    "record",
                    "--pid",
                    str(worker.proc.pid),
                    "--format",
                    "raw",
                    "--rate",
                    str(args.rate),
                    "--output",
                    str(folded),
                    "--gil",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        time.sleep(1.0)
        own0 = cpu_seconds(worker.proc.pid)
        main0 = _thread_cpu(worker.proc.pid)
        all0 = worker_cpu_seconds(worker.proc.pid)
        ticks0 = _ticks_and_faults(worker.proc.pid)
        if args.idle:
            time.sleep(args.idle)
            _spy_report(spy, folded, top=args.top)
            return 0
        slots = [[pk, 0.0] for pk in ids]
        run_ops("arm", {"slots": slots, "lead": LEAD_SECONDS}, env)
        results = ws.results
        wait_for(
            lambda: len(list(results.iterdir())) >= args.runs,
            timeout=600,
            what=f"{args.runs} runs to start",
        )
        collect(env, set(ids), timeout=600)
        own = cpu_seconds(worker.proc.pid) - own0
        main_thread = _thread_cpu(worker.proc.pid) - main0
        helper = worker_cpu_seconds(worker.proc.pid) - all0 - own
        user, system, faults = (
            b - a
            for a, b in zip(ticks0, _ticks_and_faults(worker.proc.pid), strict=True)
        )
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        procs.stop(worker)
        per_run = 1e3 / args.runs
        print(
            f"bench/profile_burst.py --db {args.db}: {args.runs} runs; worker CPU "
            f"{own * per_run:.1f} ms per run (user {user * per_run:.1f}, system "
            f"{system * per_run:.1f}; main thread {main_thread * per_run:.1f}, the "
            f"other threads {(own - main_thread) * per_run:.1f}), "
            f"{faults / args.runs:.0f} minor faults per run; "
            f"fork server {helper * per_run:.1f} ms per run; "
            f"load {os.getloadavg()[0]:.2f}"
        )
        if spy is not None:
            report(folded, top=args.top)
        if args.keep:
            print(f"kept: {tmp}")
    finally:
        procs.stop_all()
        dbs.drop_all()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _ticks_and_faults(pid: int) -> tuple[float, float, int]:
    """Return user and system CPU seconds and minor faults of `pid` (all threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    # After the name: minflt is field 10, utime 14, stime 15 (from 1).
    return int(fields[11]) / ticks, int(fields[12]) / ticks, int(fields[7])


def _spy_report(spy: subprocess.Popen[bytes] | None, folded: Path, *, top: int) -> None:
    """Stop py-spy (if it runs) and print its report."""
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
        report(folded, top=top)


def _thread_cpu(pid: int) -> float:
    """Return the CPU seconds of `pid`'s main thread (the worker's loop)."""
    stat = Path(f"/proc/{pid}/task/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(folded: Path, *, top: int) -> None:
    """Print inclusive and self shares of the sampled frames."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = [_short(frame) for frame in stack.split(";")[1:]]
        for frame in set(frames):
            if frame.split(" ")[-1].startswith(OWN):
                inclusive[frame] += count
        if frames:
            leaf[frames[-1]] += count
    print(f"{total} samples on a CPU")
    print("inclusive (project, Django, psycopg):")
    for frame, count in inclusive.most_common(top):
        print(f"  {count / total:6.1%}  {frame}")
    print("self:")
    for frame, count in leaf.most_common(top):
        print(f"  {count / total:6.1%}  {frame}")


def _short(frame: str) -> str:
    """Return "function path" with the path relative to the project or site."""
    function, _, rest = frame.partition(" (")
    path = rest.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    for root in (str(BENCH.parent) + "/",):
        path = path.removeprefix(root)
    return f"{function} {path}"


if __name__ == "__main__":
    sys.exit(main())
