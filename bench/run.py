"""Benchmark ``manage.py runworker`` against a bare reference loop; print a table.

    .venv/bin/python bench/run.py [--quick] [--db sqlite|postgres|both] [--keep]
        [--notifications]

With --notifications the spread phase runs a second time while failing runs
send signed webhooks to a local receiver (bench/notify.py's pieces), so the
table shows the lateness with and without notifications flowing.

Every database, worker process and temp folder it creates is removed again,
also on failure or Ctrl-C. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType

from harness import BenchError, Processes, pg_available
from report import Report
from scenarios import Config, Context, bench_database

FULL = Config()
QUICK = Config(
    spread_span=15.0, idle_window=15.0, throughput_runs=300, rounds=4, reps_per_round=15
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print the table; return 1 if a benchmark broke."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="shorter windows, 300-run burst"
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument(
        "--notifications",
        action="store_true",
        help="repeat the spread phase while notifications flow",
    )
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    report = Report()
    if "postgres" in kinds and (why := pg_available()):
        report.notes.append(f"PostgreSQL skipped: not reachable ({why})")
        kinds.remove("postgres")

    def stop_on_signal(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    # Explicitly, also for SIGINT: a shell starting us in the background
    # without job control would leave it ignored.
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    tmp = Path(tempfile.mkdtemp(prefix="jobportal-bench-"))
    cfg = replace(QUICK if args.quick else FULL, notifications=args.notifications)
    ctx = Context(cfg, tmp, Processes(), report)
    started = time.monotonic()
    failed = False
    try:
        for kind in kinds:
            bench_database(ctx, kind)
    except (BenchError, KeyboardInterrupt, RuntimeError) as exc:
        failed = True
        report.notes.append(f"ABORTED: {exc!r}")
    finally:
        ctx.procs.stop_all()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report.print(
        f"runworker benchmark ({'quick' if args.quick else 'full'}"
        f"{', notifications' if args.notifications else ''}; "
        f"{os.cpu_count()} CPUs; load average now {os.getloadavg()[0]:.2f}; "
        f"{time.monotonic() - started:.0f} s)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
