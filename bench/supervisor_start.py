"""What the run supervisor adds to a run's start (issue 13, item 1).

Starts ``/bin/true`` N times each way, in a process that has loaded Django
and the portal like a worker (its memory is what a fork copies), and prints
the median and 95th percentile of the time from the call until the
script's exit status is known (closing and reaping after that are not
timed: they are not start cost):

* ``popen``: ``subprocess.Popen(start_new_session=True)`` then ``wait()``,
  the runner's way before the supervisor;
* ``supervised``: `jobs.supervisor.spawn` with the worker's pool of spare
  supervisors (one spare), until the supervisor reports the exit status.
  As in the worker, `spawn` asks for a new spare once the script has
  started; each iteration waits (untimed) until it is ready;
* ``to_start``: the same, `spawn` alone (until "started");
* ``no_spare``: `spawn` with the pool stopped: it forks a supervisor on
  the spot (what a burst larger than the pool costs).

Then the worker-side CPU: the refill fork's own (the refiller thread's CPU
time around ``fork()``), and this process's CPU per iteration (all threads,
the copy-on-write faults after the forks included) for each way.

Run: ``.venv/bin/python bench/supervisor_start.py [--count N]`` (with the
two ``JOB_PORTAL_*`` keys in the environment, as the tests have). The load
average is printed first and last: figures under load are not comparable.
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
from jobs.supervisor import Supervised, pool, spawn  # noqa: E402

ARGV = ["/bin/true"]
ENV = {"PATH": "/usr/bin:/bin"}
REFILL_SECONDS = 30.0


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


def _await_status(handle: Supervised) -> None:
    """Block until the supervisor reports the script's exit status."""
    while handle.exit_code is None:
        data = handle.control.recv(4096)
        if not data:
            break
        handle.take(data)


def _close(handle: Supervised) -> None:
    handle.close()
    os.close(handle.output_fd)


def supervised(timed: list[float]) -> None:
    """Time a supervised start until its status; close and refill untimed."""
    started = time.perf_counter()
    handle = spawn(ARGV, cwd="/", env=ENV)
    _await_status(handle)
    timed.append(time.perf_counter() - started)
    _close(handle)
    if not pool.pool().wait_full(REFILL_SECONDS):
        raise SystemExit("the pool was not refilled in time")


def to_start(timed: list[float]) -> None:
    """Time `spawn` alone; the rest is not timed."""
    started = time.perf_counter()
    handle = spawn(ARGV, cwd="/", env=ENV)
    timed.append(time.perf_counter() - started)
    _await_status(handle)
    _close(handle)
    if not pool.pool().wait_full(REFILL_SECONDS):
        raise SystemExit("the pool was not refilled in time")


def measure(
    step: Callable[[list[float]], None], count: int
) -> tuple[list[float], float]:
    """Return `count` timings of `step` in ms, and the process CPU ms per step."""
    timed: list[float] = []
    cpu = time.process_time()
    for _ in range(count):
        step(timed)
    cpu_ms = (time.process_time() - cpu) * 1000 / count
    return [t * 1000 for t in timed], cpu_ms


def whole(action: Callable[[], None]) -> Callable[[list[float]], None]:
    """Return a step that times all of `action`."""

    def step(timed: list[float]) -> None:
        started = time.perf_counter()
        action()
        timed.append(time.perf_counter() - started)

    return step


def no_spare() -> None:
    """Start with no spare (the pool stopped), wait for the status, close."""
    handle = spawn(ARGV, cwd="/", env=ENV)
    _await_status(handle)
    _close(handle)


def row(name: str, times: list[float], cpu_ms: float) -> str:
    """Return one table row: median and p95 in ms, CPU per iteration."""
    p95 = statistics.quantiles(times, n=20)[18]
    return (
        f"{name:<11} median {statistics.median(times):7.3f} ms   "
        f"p95 {p95:7.3f} ms   worker CPU/iteration {cpu_ms:6.3f} ms"
    )


def load() -> str:
    """Return the load averages, for the record."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    count = parser.parse_args().count
    rows = [f"{load()}; {count} starts of {ARGV[0]} each way; {os.cpu_count()} CPUs"]
    pool.pool_start(1)
    pool.pool().wait_full(REFILL_SECONDS)
    measure(whole(popen), 20)
    measure(supervised, 20)
    old, old_cpu = measure(whole(popen), count)
    pool.pool().fork_cpu_seconds.clear()
    new, new_cpu = measure(supervised, count)
    forks = [s * 1000 for s in pool.pool().fork_cpu_seconds]
    starts, starts_cpu = measure(to_start, count)
    pool.pool_stop()
    fresh, fresh_cpu = measure(whole(no_spare), count)
    added = statistics.median(new) - statistics.median(old)
    added_fresh = statistics.median(fresh) - statistics.median(old)
    rows += [
        row("popen", old, old_cpu),
        row("supervised", new, new_cpu),
        row("to_start", starts, starts_cpu),
        row("no_spare", fresh, fresh_cpu),
        f"refill fork, worker CPU (refiller thread): median "
        f"{statistics.median(forks):.3f} ms, p95 "
        f"{statistics.quantiles(forks, n=20)[18]:.3f} ms ({len(forks)} forks)",
        f"added by the supervisor (median, supervised - popen): {added:.3f} ms "
        f"(without a spare: {added_fresh:.3f} ms)",
        load(),
    ]
    sys.stdout.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
