"""Spare supervisors, forked ahead of the runs that will need them.

Pure Python, no Django imports. The worker keeps a few *spares* forked in
advance (`pool_start`): each has already done everything but the script's
start (`jobs.supervisor.child`) and waits on its socket. `spawn` takes one
(`spare_take`) and sends it the start request; closing the run's
supervisor at its end asks for a replacement (`pool_refill`). With no
spare ready (pool not started, or a burst larger than it), `spawn` forks
one on the spot (`spare_fork`, the same code) and uses it at once.

Spares are forked by the fork server (`jobs.supervisor.forkserver`), a
small process of ours, not by the worker. The pool's thread starts it
and never exits, because the kernel sends a child its death signal
(PR_SET_PDEATHSIG) when the *thread* that started it ends, not the
process: the server (and through it each spare and the supervisor it
becomes) must hear of the worker's death only. A spare is no run's: it
names itself ``jobs-spare`` (/proc/PID/comm), runs nothing, and no run
records its pid before it has started that run's script. It exits when
the worker closes its socket (`pool_stop`) or dies.
"""

from __future__ import annotations

import collections
import logging
import os
import select
import socket
import threading
import time
from dataclasses import dataclass

from jobs.supervisor.forkserver import ForkServer
from jobs.supervisor.protocol import (
    MSG_READY,
    START_TIMEOUT_SECONDS,
    SupervisorError,
    read_line,
)

logger = logging.getLogger(__name__)

# At most this many spares wait at once.
SPARES_MAX = 4
REFILL_RETRY_SECONDS = 1.0


@dataclass
class Spare:
    """The worker's side of a spare: its pid, output pipe, socket and pidfd."""

    pid: int
    output_fd: int
    control: socket.socket
    pidfd: int

    def is_ready(self) -> bool:
        """Return whether the spare still waits (has not exited)."""
        return not has_exited(self.pidfd)

    def discard(self) -> None:
        """Let the spare go: it exits at the end of file (the server reaps it)."""
        self.control.close()
        os.close(self.output_fd)
        os.close(self.pidfd)


def has_exited(pidfd: int) -> bool:
    """Return whether the process of `pidfd` has exited (a pidfd reads then)."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(0))


def spare_fork() -> Spare:
    """Have a spare supervisor forked; return it once it is ready.

    Raise SupervisorError if it does not get ready (it has then exited).
    """
    forked = _POOL.forkserver().fork()
    spare = Spare(
        pid=forked.pid,
        output_fd=forked.output_fd,
        control=forked.control,
        pidfd=forked.pidfd,
    )
    try:
        line, _ = read_line(spare.control, START_TIMEOUT_SECONDS)
    except OSError:
        line = ""
    if line != MSG_READY:
        spare.discard()
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
        self._server = ForkServer()
        # CPU seconds of each refill's fork in the worker, the last thousand.
        self.fork_cpu_seconds: collections.deque[float] = collections.deque(maxlen=1000)

    def start(self, size: int) -> None:
        """Keep `size` spares ready (at most SPARES_MAX) from now on."""
        with self._changed:
            self._size = max(0, min(size, SPARES_MAX))
            self._start_thread()
            self._changed.notify_all()

    def stop(self) -> None:
        """Keep no spares: let those waiting go."""
        with self._changed:
            self._size = 0
            spares = list(self._spares)
            self._spares.clear()
            self._changed.notify_all()
        for spare in spares:
            spare.discard()

    def forkserver(self) -> ForkServer:
        """Return the fork server, once the pool's thread has it running.

        Raise SupervisorError if it does not start within the start timeout.
        """
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        with self._changed:
            self._start_thread()
            while not self._server.is_running():
                self._changed.notify_all()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SupervisorError("the fork server did not start")
                self._changed.wait(remaining)
        return self._server

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

    def _start_thread(self) -> None:
        """Start the pool's thread unless it runs (call holding `_changed`)."""
        if self._thread is None:
            # Never ends, so that no spare gets its death signal early.
            self._thread = threading.Thread(
                target=self._refill_forever, name="spares", daemon=True
            )
            self._thread.start()

    def _refill_forever(self) -> None:  # pragma: no cover - a daemon thread
        while True:
            with self._changed:
                while self._server.is_running() and len(self._spares) >= self._size:
                    self._changed.wait()
            try:
                # Started (again) from this thread only: see the module doc.
                self._server.start()
                with self._changed:
                    self._changed.notify_all()
                    wanted = len(self._spares) < self._size
                if wanted:
                    self._refill_one()
            # This thread must never end: its end is the death signal of
            # the fork server, and so of every supervisor, running scripts
            # included.
            except Exception:
                logger.exception("Could not fork a spare supervisor")
                time.sleep(REFILL_RETRY_SECONDS)

    def _refill_one(self) -> None:  # pragma: no cover - in the refiller thread
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
            spare.discard()


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
