"""The notification sender in a process of its own, started by ``runworker``.

Sending costs CPU (rendering, JSON, HMAC, HTTP): in a thread of the worker
it held the worker's GIL while the scheduling loop and the run threads
waited for it, and slots started late while notifications flowed
(bench/notify.py). In a child process it only shares the CPUs.

The child is started with the ``spawn`` method (a fresh interpreter: no
copied database connections or threads), sets up Django itself and runs
`NotificationSender` until SIGTERM. It dies with the worker: the kernel
kills it when its parent dies (``PR_SET_PDEATHSIG``, Linux), and it also
stops when it sees its parent gone. `SenderProcess` (in the worker) starts
it, restarts it should it exit, and stops it at shutdown.

This module imports no Django code at import time: the child imports it
before Django is set up.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import threading
from multiprocessing.process import BaseProcess

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
# How often the worker looks at the child, and the child at its parent.
CHECK_SECONDS = 1.0
# After the child exited unexpectedly, the worker waits this long to restart.
RESTART_PAUSE_SECONDS = 5.0


class SenderProcess:
    """Start, watch and stop the sender child of one worker."""

    def __init__(self, *, worker_id: int | None, stop: threading.Event) -> None:
        """Keep the worker's row id (leases name it) and the stop event."""
        self.worker_id = worker_id
        self.stop = stop
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        """Start the child and a thread restarting it should it exit."""
        self._spawn()
        self._watcher = threading.Thread(
            target=self._watch, name="notifications-watch", daemon=True
        )
        self._watcher.start()

    def join(self, timeout: float) -> int | None:
        """Stop the child (SIGTERM, then SIGKILL after `timeout`); return its code."""
        process = self._process
        if process is None:
            return None
        if process.is_alive():
            process.terminate()
            process.join(timeout)
        if process.is_alive():
            logger.warning("Notification sender did not stop in time; killing it")
            process.kill()
            process.join(timeout)
        return process.exitcode

    def _spawn(self) -> None:
        self._process = self._context.Process(
            target=sender_main,
            args=(self.worker_id, os.getpid()),
            name="notifications",
            daemon=True,
        )
        self._process.start()
        logger.info("Notification sender started (pid %s)", self._process.pid)

    def _watch(self) -> None:
        while not self.stop.wait(CHECK_SECONDS):
            process = self._process
            if process is None or process.is_alive():
                continue
            logger.warning(
                "Notification sender exited with %s; restarting it in %.0f s",
                process.exitcode,
                RESTART_PAUSE_SECONDS,
            )
            if self.stop.wait(RESTART_PAUSE_SECONDS):
                return
            self._spawn()


def sender_main(worker_id: int | None, parent_pid: int) -> None:
    """Run the sender until SIGTERM or the worker's death (the child's entry)."""
    _die_with_parent(parent_pid)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    # Ctrl-C reaches the whole process group: the worker stops the child.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import django

    django.setup()
    from notifications.sender import NotificationSender, next_slot_from_database

    threading.Thread(
        target=_watch_parent, args=(parent_pid, stop), name="parent", daemon=True
    ).start()
    # Around a slot the sender holds off on every database: on SQLite the
    # scheduler's writes would queue behind its writes (one writer); on
    # PostgreSQL its sends took the CPUs that the scheduler's steps and
    # their server backends need (bench/notify.py).
    NotificationSender(
        stop=stop, next_slot=next_slot_from_database, worker_id=lambda: worker_id
    ).run_forever()


def _die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        logger.debug("prctl is not available: watching the parent only")
    # The parent may have died before prctl took effect.
    if os.getppid() != parent_pid:
        os._exit(0)


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    while not stop.wait(CHECK_SECONDS):
        if os.getppid() != parent_pid:
            stop.set()
