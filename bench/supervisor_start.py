"""What the run supervisor adds to a run's start (issue 13, item 1).

Starts ``/bin/true`` N times each way, in a process that has loaded Django
and the portal like a worker (its memory is what a fork copies), and prints
the median and 95th percentile of:

* ``popen``: ``subprocess.Popen(start_new_session=True)`` then ``wait()``,
  the runner's way before the supervisor;
* ``supervised``: `jobs.supervisor.spawn` (fork, setsid, prctl, posix_spawn,
  "started" message) until the script's exit status is reported, then
  ``close()`` (end everything, reap the supervisor);
* ``to_start``: `spawn` alone, until the supervisor says the script started.

Run: ``.venv/bin/python bench/supervisor_start.py [--count N]`` (with the
two ``JOB_PORTAL_*`` keys in the environment, as the tests have).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobportal.settings")

import django

django.setup()

from jobs import models  # noqa: E402, F401 - loaded for a worker-sized heap
from jobs.supervisor import spawn  # noqa: E402

ARGV = ["/bin/true"]
ENV = {"PATH": "/usr/bin:/bin"}


def popen() -> None:
    """Start and wait for the script the old way."""
    proc = subprocess.Popen(
        ARGV,
        env=ENV,
        cwd="/",
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    proc.wait()


def supervised() -> None:
    """Start the script under a supervisor, wait for its status, close."""
    handle = spawn(ARGV, cwd="/", env=ENV)
    while handle.exit_code is None and not handle.has_exited():
        handle.read_messages()
        time.sleep(0.0002)
    handle.close()
    os.close(handle.output_fd)


def to_start() -> None:
    """Start the script under a supervisor; the rest is not timed."""
    started = time.perf_counter()
    handle = spawn(ARGV, cwd="/", env=ENV)
    _starts.append(time.perf_counter() - started)
    handle.close()
    os.close(handle.output_fd)


_starts: list[float] = []


def measure(step: Callable[[], None], count: int) -> list[float]:
    """Return `count` durations of `step`, in milliseconds."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        step()
        times.append((time.perf_counter() - started) * 1000)
    return times


def line(name: str, times: list[float]) -> str:
    """Return one table row: median and p95 in ms."""
    p95 = statistics.quantiles(times, n=20)[18]
    return f"{name:<12} median {statistics.median(times):7.3f} ms   p95 {p95:7.3f} ms"


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    count = parser.parse_args().count
    measure(popen, 20)
    measure(supervised, 20)
    old = measure(popen, count)
    new = measure(supervised, count)
    _starts.clear()
    measure(to_start, count)
    starts = [s * 1000 for s in _starts]
    rows = [line("popen", old), line("supervised", new), line("to_start", starts)]
    added = statistics.median(new) - statistics.median(old)
    rows.append(f"added by the supervisor (median): {added:.3f} ms")
    sys.stdout.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
