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
  As in the worker, closing the supervisor (untimed) asks for a new
  spare, and each iteration waits (untimed) until it is ready;
* ``to_start``: the same, `spawn` alone (until "started"), and where
  that time goes: on a CPU or waiting for one, for the worker's thread and
  the spare (``/proc/.../schedstat``);
* ``no_spare``: `spawn` with the pool stopped: it forks a supervisor on
  the spot (what a burst larger than the pool costs).

``supervised`` and ``to_start`` run in turn, round after round; each
waits (untimed) for the closed supervisor's exit and the refill. Then
the worker-side CPU: the refill fork's own (the refiller thread's CPU
time around ``fork()``), and this process's CPU per iteration (all threads,
the copy-on-write faults after the forks and the untimed refill included)
for each way.

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
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobportal.settings")

import django

django.setup()

from jobs import models, process_tree  # noqa: E402, F401 - models: a worker's heap
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
    """Close `handle`; wait until its supervisor is gone, so the next step
    does not share the CPUs with its exit."""
    handle.close()
    os.close(handle.output_fd)
    deadline = time.monotonic() + REFILL_SECONDS
    while process_tree.is_alive(handle.pid) and time.monotonic() < deadline:
        time.sleep(0.0005)


def supervised(timed: list[float]) -> None:
    """Time a supervised start until its status; close and refill untimed."""
    started = time.perf_counter()
    handle = spawn(ARGV, cwd="/", env=ENV)
    _await_status(handle)
    timed.append(time.perf_counter() - started)
    _close(handle)
    if not pool.pool().wait_full(REFILL_SECONDS):
        raise SystemExit("the pool was not refilled in time")


def _schedstat(path: str) -> tuple[int, int]:
    """Return (ns on a CPU, ns waiting for one) from a schedstat file."""
    try:
        on_cpu, waiting, _ = Path(path).read_text().split()
    except (OSError, ValueError):
        return 0, 0
    return int(on_cpu), int(waiting)


# Per to_start: (worker thread, spare) x (on a CPU, waiting for one), in ns.
_where: list[tuple[int, int, int, int]] = []


def to_start(timed: list[float]) -> None:
    """Time `spawn` alone; the rest is not timed."""
    (spare,) = pool.pool().pids()
    me = f"/proc/self/task/{threading.get_native_id()}/schedstat"
    worker0, spare0 = _schedstat(me), _schedstat(f"/proc/{spare}/schedstat")
    started = time.perf_counter()
    handle = spawn(ARGV, cwd="/", env=ENV)
    timed.append(time.perf_counter() - started)
    worker1, spare1 = _schedstat(me), _schedstat(f"/proc/{spare}/schedstat")
    _where.append(
        (
            worker1[0] - worker0[0],
            worker1[1] - worker0[1],
            spare1[0] - spare0[0],
            spare1[1] - spare0[1],
        )
    )
    _await_status(handle)
    _close(handle)
    if not pool.pool().wait_full(REFILL_SECONDS):
        raise SystemExit("the pool was not refilled in time")


def measure(
    steps: Mapping[str, Callable[[list[float]], None]], count: int
) -> dict[str, tuple[list[float], float]]:
    """Run `steps` in turn, `count` rounds; per step: times in ms, CPU ms/step.

    Interleaved, so that a change of load hits every step alike.
    """
    timed: dict[str, list[float]] = {name: [] for name in steps}
    cpu = dict.fromkeys(steps, 0.0)
    for _ in range(count):
        for name, step in steps.items():
            started = time.process_time()
            step(timed[name])
            cpu[name] += time.process_time() - started
    return {
        name: ([t * 1000 for t in timed[name]], cpu[name] * 1000 / count)
        for name in steps
    }


def whole(action: Callable[[], None]) -> Callable[[list[float]], None]:
    """Return a step that times all of `action`."""

    def step(timed: list[float]) -> None:
        started = time.perf_counter()
        action()
        timed.append(time.perf_counter() - started)

    return step


def no_spare(timed: list[float]) -> None:
    """Time a start with no spare (the pool stopped) until its status."""
    started = time.perf_counter()
    handle = spawn(ARGV, cwd="/", env=ENV)
    _await_status(handle)
    timed.append(time.perf_counter() - started)
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
    # Plain Popen first, with no spare: a fork leaves the worker's pages
    # shared, and its later writes fault (a cost of the spares, not Popen's).
    measure({"popen": whole(popen)}, 20)
    found = measure({"popen": whole(popen)}, count)
    rows.append(f"popen done: {load()}")
    pool.pool_start(1)
    pool.pool().wait_full(REFILL_SECONDS)
    steps = {"supervised": supervised, "to_start": to_start}
    measure(steps, 20)
    pool.pool().fork_cpu_seconds.clear()
    found |= measure(steps, count)
    forks = [s * 1000 for s in pool.pool().fork_cpu_seconds]
    pool.pool_stop()
    found |= measure({"no_spare": no_spare}, count)
    rows += [row(name, *found[name]) for name in ("popen", *steps, "no_spare")]
    on_worker, wait_worker, on_spare, wait_spare = (
        statistics.median(ns[i] for ns in _where) / 1e6 for i in range(4)
    )
    rows.append(
        f"to_start, medians (schedstat): worker thread on a CPU {on_worker:.3f} ms, "
        f"waiting for one {wait_worker:.3f} ms; spare on a CPU {on_spare:.3f} ms, "
        f"waiting for one {wait_spare:.3f} ms"
    )
    old, new = found["popen"][0], found["supervised"][0]
    added = statistics.median(new) - statistics.median(old)
    added_fresh = statistics.median(found["no_spare"][0]) - statistics.median(old)
    rows += [
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
