"""Spare supervisors, forked ahead of the runs that will need them.

Pure Python, no Django imports. Forking the worker (a large process) is
most of what starting a supervisor costs, so the worker keeps a few
*spares* forked in advance (`pool_start`): each has already done
everything but the script's start (`jobs.supervisor.child`) and waits on
its socket. `spawn` takes one (`spare_take`) and sends it the start
request; closing the run's supervisor at its end asks for a replacement
(`pool_refill`). A fork holds the interpreter lock while it copies the
worker's page tables, so refills wait for runs to end: a burst of starts
takes waiting spares and forks nothing. With no spare ready (pool not
started, or a burst larger than it), `spawn` forks one on the spot
(`spare_fork`, the same code) and uses it at once.

The spares are forked by one thread that never exits, because the kernel
sends a child its death signal (PR_SET_PDEATHSIG) when the *thread* that
forked it ends, not the process: a spare (and the supervisor it becomes)
must hear of the worker's death only. A spare is no run's: it names itself
``jobs-spare`` (/proc/PID/comm), runs nothing, and no run records its pid
before it has started that run's script. It exits when the worker closes
its socket (`pool_stop`) or dies.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

from jobs.supervisor.child import spare_main
from jobs.supervisor.protocol import (
    MSG_READY,
    START_TIMEOUT_SECONDS,
    SupervisorError,
    read_line,
)

logger = logging.getLogger(__name__)

# At most this many spares wait at once: each is a fork of the worker,
# whose pages it keeps while the worker's own change.
SPARES_MAX = 4
STOP_REAP_SECONDS = 1.0
REFILL_RETRY_SECONDS = 1.0


@dataclass
class Spare:
    """The worker's side of a spare: its pid, output pipe and socket."""

    pid: int
    output_fd: int
    control: socket.socket

    def is_ready(self) -> bool:
        """Return whether the spare still waits (has not exited)."""
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        try:
            return os.waitid(os.P_PID, self.pid, flags) is None
        except ChildProcessError:
            return False

    def discard(self, seconds: float = 0.0) -> None:
        """Let the spare go (it exits at the end of file) and reap it."""
        self.control.close()
        os.close(self.output_fd)
        deadline = time.monotonic() + seconds
        while True:
            try:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return
            if done or time.monotonic() >= deadline:
                break
            time.sleep(0.001)
        if not done:
            _REAP_LATER.append(self.pid)


# Spares that were slow to exit, reaped by the refiller later.
_REAP_LATER: collections.deque[int] = collections.deque()


def spare_fork() -> Spare:
    """Fork a spare supervisor of this process; return it once it is ready.

    Raise SupervisorError if it does not get ready (it has then exited).
    """
    out_read, out_write = os.pipe()
    ours, theirs = socket.socketpair()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its effects are tested
        spare_main(parent=parent, control=theirs, out_fd=out_write)
    os.close(out_write)
    theirs.close()
    spare = Spare(pid=pid, output_fd=out_read, control=ours)
    try:
        line, _ = read_line(ours, START_TIMEOUT_SECONDS)
    except OSError:
        line = ""
    if line != MSG_READY:
        spare.discard(STOP_REAP_SECONDS)
        raise SupervisorError(line or "the supervisor ended before it was ready")
    return spare


class SparePool:
    """Spares of this process, refilled by a thread of their own."""

    def __init__(self) -> None:
        """Start with no spares and no wish for any."""
        self._spares: collections.deque[Spare] = collections.deque()
        self._size = 0
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        # CPU seconds of each refill's fork in the worker, the last thousand.
        self.fork_cpu_seconds: collections.deque[float] = collections.deque(maxlen=1000)

    def start(self, size: int) -> None:
        """Keep `size` spares ready (at most SPARES_MAX) from now on."""
        with self._changed:
            self._size = max(0, min(size, SPARES_MAX))
            if self._thread is None:
                # Never ends, so that no spare gets its death signal early.
                self._thread = threading.Thread(
                    target=self._refill_forever, name="spares", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def stop(self) -> None:
        """Keep no spares: let those waiting go and reap them."""
        with self._changed:
            self._size = 0
            spares = list(self._spares)
            self._spares.clear()
            self._changed.notify_all()
        for spare in spares:
            spare.discard(STOP_REAP_SECONDS)

    def take(self) -> Spare | None:
        """Return a waiting spare (it is no longer the pool's), or None."""
        while True:
            with self._changed:
                if not self._spares:
                    return None
                spare = self._spares.popleft()
            if spare.is_ready():
                return spare
            spare.discard()

    def refill(self) -> None:
        """Ask the refiller thread to make up for the spares taken."""
        with self._changed:
            self._changed.notify_all()

    def ready(self) -> int:
        """Return how many spares wait now."""
        with self._changed:
            return len(self._spares)

    def pids(self) -> list[int]:
        """Return the pids of the spares waiting now."""
        with self._changed:
            return [spare.pid for spare in self._spares]

    def wait_full(self, seconds: float) -> bool:
        """Wait until as many spares as wished for wait; False on timeout."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while len(self._spares) < self._size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def _refill_forever(self) -> None:  # pragma: no cover - a daemon thread
        while True:
            with self._changed:
                while len(self._spares) >= self._size:
                    self._changed.wait()
            try:
                self._refill_one()
            # This thread must never end: its end is the death signal of
            # every supervisor it forked, running scripts included.
            except Exception:
                logger.exception("Could not fork a spare supervisor")
                time.sleep(REFILL_RETRY_SECONDS)

    def _refill_one(self) -> None:  # pragma: no cover - in the refiller thread
        _reap_late()
        # Forked outside the lock: `take` must never wait for a fork.
        started = time.thread_time()
        spare = spare_fork()
        self.fork_cpu_seconds.append(time.thread_time() - started)
        with self._changed:
            keep = len(self._spares) < self._size
            if keep:
                self._spares.append(spare)
                self._changed.notify_all()
        if not keep:
            spare.discard(STOP_REAP_SECONDS)


def _reap_late() -> None:
    """Reap the spares that were slow to exit when let go."""
    for _ in range(len(_REAP_LATER)):
        pid = _REAP_LATER.popleft()
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                _REAP_LATER.append(pid)


_POOL = SparePool()


def pool_start(size: int) -> None:
    """Keep `size` spare supervisors ready in this process (see module doc)."""
    _POOL.start(size)


def pool_stop() -> None:
    """Let this process's spare supervisors go; `spawn` forks from now on."""
    _POOL.stop()


def pool_refill() -> None:
    """Have the spares taken replaced, off the caller's thread."""
    _POOL.refill()


def spare_take() -> Spare | None:
    """Return a waiting spare of this process's pool, or None."""
    return _POOL.take()


def pool() -> SparePool:
    """Return this process's pool (for measurements and tests)."""
    return _POOL
