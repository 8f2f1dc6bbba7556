"""The minimal reference: a bare loop that sleeps until each due instant and spawns.

No database, no bookkeeping: `subprocess.Popen` of the same script with the
same interpreter, at most `concurrency` at once, reaped as they exit (a pidfd
per child, so the loop wakes at an exit or the next due instant, whichever
comes first). It is what "on time" can mean on this machine right now.
"""

from __future__ import annotations

import os
import select
import selectors
import subprocess
import time
from dataclasses import dataclass

from harness import Workspace

# A bound on any one wait, so that a lost wakeup cannot hang the reference.
MAX_WAIT_SECONDS = 1.0


@dataclass(frozen=True)
class RefRun:
    """One spawn of the reference loop: when it was due, spawned and reaped."""

    run_id: str
    due_ns: int
    spawned_ns: int
    reaped_ns: int


def run_reference(
    ws: Workspace, due: list[tuple[str, int]], *, concurrency: int, deadline: float
) -> list[RefRun]:
    """Spawn the script once per (run id, due instant ns); return the timings.

    `deadline` is a time.monotonic() instant after which the loop gives up.
    """
    pending = sorted(due, key=lambda item: item[1])
    base_env = dict(os.environ)
    running: dict[int, tuple[subprocess.Popen[bytes], str, int, int]] = {}
    done: list[RefRun] = []
    selector = selectors.DefaultSelector()
    try:
        while pending or running:
            if time.monotonic() > deadline:
                raise TimeoutError("the reference loop ran past its deadline")
            now = time.time_ns()
            while pending and len(running) < concurrency and pending[0][1] <= now:
                run_id, due_ns = pending.pop(0)
                proc = subprocess.Popen(
                    ws.argv(),
                    env={**base_env, "JOB_RUN_ID": run_id},
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                )
                fd = os.pidfd_open(proc.pid)
                running[fd] = (proc, run_id, due_ns, time.time_ns())
                selector.register(fd, selectors.EVENT_READ)
                now = time.time_ns()
            if pending and len(running) < concurrency:
                wait = max(0.0, (pending[0][1] - time.time_ns()) / 1e9)
            else:
                wait = MAX_WAIT_SECONDS
            for key, _ in selector.select(min(wait, MAX_WAIT_SECONDS)):
                fd = int(key.fd)
                proc, run_id, due_ns, spawned_ns = running.pop(fd)
                proc.wait()
                reaped = time.time_ns()
                selector.unregister(fd)
                os.close(fd)
                done.append(RefRun(run_id, due_ns, spawned_ns, reaped))
    finally:
        for fd, (proc, *_) in running.items():
            proc.kill()
            proc.wait()
            os.close(fd)
        selector.close()
    return done


def direct_runs(ws: Workspace, count: int, timeout: float = 30.0) -> list[float]:
    """Return the wall time (s) of running the script directly, `count` times.

    Popen, then a blocking wait on a pidfd: not `subprocess.run(timeout=...)`,
    whose wait polls with sleeps of up to 50 ms and would add them.
    """
    times = []
    env = {**os.environ, "JOB_RUN_ID": "direct"}
    for _ in range(count):
        started = time.perf_counter()
        proc = subprocess.Popen(
            ws.argv(), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        fd = os.pidfd_open(proc.pid)
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                proc.kill()
                proc.wait()
                raise TimeoutError("the job script ran past its deadline")
            proc.wait()
        finally:
            os.close(fd)
        times.append(time.perf_counter() - started)
    return times
