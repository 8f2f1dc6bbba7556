"""The fork server: a small process of ours that forks the spares.

Pure Python, no Django imports. Forking the worker itself made a spare
cost the worker its whole address space each time: the fork copies the
worker's page tables, and afterwards every page the worker writes (a
reference count is enough) faults and is copied, about half of the
worker's CPU per run (`bench/profile_burst.py`: 11 of 22 ms, 1,500 minor
faults per run). So the worker starts this server once, a fresh
interpreter (``python -c``) holding only `jobs.supervisor`, and asks it
for each spare; the server's fork is a small process's fork, and the
worker's own pages are never shared.

The chain of death signals stays what it was: the server asks for
SIGKILL when the worker's thread that started it ends (the pool's thread,
which never ends, `jobs.supervisor.pool`), and each spare asks for SIGHUP
when the server ends. A spare is the server's child, not the worker's:
the server passes the worker the spare's socket, output pipe and a pidfd
(`os.pidfd_open`, opened before the spare can be reaped, so it names that
process and no later one with its pid). The worker learns of the spare's
exit by the pidfd; the server reaps its children as they exit, so no spare
is left a zombie, and their CPU time is the server's children's (what
`bench/` counts).

Protocol, over one socket pair (SOCK_SEQPACKET: each message whole): the
worker sends ``f``; the server answers one message ``<pid>`` carrying three
descriptors (the spare's socket, output pipe and pidfd), or ``!<error>``
with none. End of file on the socket ends the server, and with it the
spares and supervisors it forked (their death signal): it ends only with
the worker.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from jobs.supervisor.child import spare_main
from jobs.supervisor.protocol import (
    NAME_FORKSERVER,
    PR_SET_NAME,
    PR_SET_PDEATHSIG,
    SupervisorError,
)

REQUEST_FORK = b"f"
ANSWER_BYTES = 256
START_SECONDS = 30.0
# The project's root: the server imports `jobs.supervisor` from there.
ROOT = str(Path(__file__).resolve().parents[2])
BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from jobs.supervisor.forkserver import serve; "
    "serve(int(sys.argv[2]), parent=int(sys.argv[3]))"
)


@dataclass
class Forked:
    """A spare as the server hands it over: pid, socket, output pipe, pidfd."""

    pid: int
    control: socket.socket
    output_fd: int
    pidfd: int


class ForkServer:
    """The worker's side: start the server, ask it for spares."""

    def __init__(self) -> None:
        """Not started: `start` must run on a thread that never ends."""
        self._socket: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the server (again, if it died); a no-op while it runs.

        The server's death signal follows the calling thread: call it
        from a thread that lives as long as the process.
        """
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return
            self._close()
            # Messages keep their bounds: one answer, with its descriptors.
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    BOOT,
                    ROOT,
                    str(theirs.fileno()),
                    str(os.getpid()),
                ],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
            )
            theirs.close()
            self._socket = ours

    def is_running(self) -> bool:
        """Return whether the server was started and has not exited."""
        with self._lock:
            return self._process is not None and self._process.poll() is None

    def fork(self) -> Forked:
        """Have the server fork a spare; raise SupervisorError if it cannot."""
        with self._lock:
            if self._socket is None:
                raise SupervisorError("the fork server is not running")
            try:
                self._socket.settimeout(START_SECONDS)
                self._socket.sendall(REQUEST_FORK)
                answer, fds, _, _ = socket.recv_fds(self._socket, ANSWER_BYTES, 3)
            except OSError as exc:
                # The server stays: its end would end every supervisor. A
                # late answer is a whole spare, taken by the next request.
                raise SupervisorError(f"the fork server failed: {exc}") from exc
        text = answer.decode("ascii", errors="replace")
        if len(fds) != 3 or not text.isdigit():
            for fd in fds:
                os.close(fd)
            raise SupervisorError(
                f"the fork server could not fork: {text.lstrip('!') or 'it ended'}"
            )
        control, output_fd, pidfd = fds
        return Forked(int(text), socket.socket(fileno=control), output_fd, pidfd)

    def pid(self) -> int | None:
        """Return the server's pid while it runs (for tests and measurements)."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                return None
            return self._process.pid

    def _close(self, seconds: float = 5.0) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._process is not None:
            try:
                self._process.wait(seconds)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


def serve(fd: int, *, parent: int) -> NoReturn:  # pragma: no cover - the server
    """Fork a spare for each request on socket `fd`; exit at its end."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)  # the worker died before the prctl
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(NAME_FORKSERVER), 0, 0, 0)
    # The worker watches the spares by pidfd; reaped here as they exit.
    signal.signal(signal.SIGCHLD, _reap_children)
    # A Ctrl-C or SIGTERM meant for the worker's process group must not end
    # the server (and with it every supervisor): the worker stops gracefully.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    requests = socket.socket(fileno=fd)
    while True:
        try:
            request = requests.recv(1)
        except InterruptedError:
            continue
        except OSError:
            request = b""
        if request != REQUEST_FORK:
            os._exit(0)
        try:
            _fork_one(requests)
        except OSError as exc:
            requests.sendall(f"!{exc}".encode("ascii", errors="replace"))


def _reap_children(signum: int, frame: object) -> None:  # pragma: no cover
    """Reap every child that has exited (SIGCHLD's handler)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _fork_one(requests: socket.socket) -> None:  # pragma: no cover - the server
    """Fork one spare and hand its descriptors to the worker."""
    out_read, out_write = os.pipe()
    ours, theirs = socket.socketpair()
    server = os.getpid()
    # No reaping between the fork and the pidfd: the pidfd must name this
    # child, even one that exits at once.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    try:
        pid = os.fork()
        if pid == 0:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            requests.close()
            spare_main(parent=server, control=theirs, out_fd=out_write)
        pidfd = os.pidfd_open(pid)
        try:
            fds = [ours.fileno(), out_read, pidfd]
            socket.send_fds(requests, [str(pid).encode()], fds)
        finally:
            os.close(pidfd)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(out_read)
        os.close(out_write)
        ours.close()
        theirs.close()
