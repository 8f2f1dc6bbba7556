"""The supervisor's side: what a fork of the fork server becomes (`spare_main`).

Pure Python, no Django imports; everything here runs in the forked child
(`jobs.supervisor.forkserver`), so coverage cannot see it: its effects
are tested. Right after the fork the child becomes a *spare*: the leader
of a new session, with every descriptor but its own two closed, its
signals installed, a child subreaper that asks for SIGHUP when the fork
server dies (and the server dies with the worker). A spare waits for one
start request; it exits without one when the worker closes its socket or
dies. With a request it starts the script and
supervises it (see the package's docstring) until told to exit.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import select
import signal
import socket
import time
from collections.abc import Mapping, Sequence
from typing import NoReturn

from jobs import process_tree, run_outcomes
from jobs.supervisor.protocol import (
    CMD_EXIT,
    CMD_HEARTBEAT,
    CMD_KILL,
    CMD_TERMINATE,
    DEFAULT_SIGNALS,
    END_SIGNALS,
    EXIT_INTERNAL_ERROR,
    MSG_DONE,
    MSG_FENCED,
    MSG_READY,
    MSG_START_ERROR,
    MSG_STARTED,
    NAME_SPARE,
    NAME_SUPERVISOR,
    PR_SET_CHILD_SUBREAPER,
    PR_SET_NAME,
    PR_SET_PDEATHSIG,
    StartRequest,
    request_decode,
    request_encode,
)

libc = ctypes.CDLL(None, use_errno=True)
REQUEST_MAX_BYTES = 16 * 1024 * 1024


def spare_main(
    *, parent: int, control: socket.socket, out_fd: int
) -> NoReturn:  # pragma: no cover - runs in the forked child
    """Become a spare, then the supervisor of one script; never return."""
    # A collection would walk (and so copy) every object of the heap it
    # shares with the server; what it allocates is freed by reference counts.
    gc.disable()
    code = EXIT_INTERNAL_ERROR
    try:
        os.setsid()
        _close_other_fds(keep=(out_fd, control.fileno()))
        code = _Loop(control, parent=parent).serve(out_fd)
    finally:
        os._exit(code)


def _close_other_fds(keep: tuple[int, ...]) -> None:  # pragma: no cover
    """Close every descriptor above stderr except `keep` (other runs' pipes)."""
    low = 3
    for fd in sorted(keep):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def _warm_up() -> None:  # pragma: no cover
    """Touch what a start touches, so its copy-on-write faults happen now.

    The spare shares the fork server's pages; the first write to each
    (reference counts included) copies it. Doing that before the request comes takes
    it off the run's start.
    """
    sample = StartRequest(argv=["true"], cwd="/", env={"PATH": os.defpath})
    request_decode(
        request_encode(
            sample.argv, cwd=sample.cwd, env=sample.env, fence_seconds=1.0, outcome=None
        )
    )
    with contextlib.suppress(OSError):
        _which(sample.argv[0], sample.env)


def _set_name(name: bytes) -> None:  # pragma: no cover
    """Set this process's name (/proc/PID/comm), what ps and top show."""
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)


class _Loop:  # pragma: no cover - runs in the forked child
    """The supervisor's event loop."""

    def __init__(self, control: socket.socket, *, parent: int) -> None:
        self.control = control
        self.parent = parent
        self.fence_seconds: float | None = None
        self.fence_at: float | None = None
        self.script = 0
        self.status: int | None = None
        self.ending = False
        self.exiting = False
        self.me = os.getpid()
        self.outcome: tuple[str, str] | None = None
        # Whether we signalled the script: its status is then not its own.
        self.signalled = False

    def serve(self, out_fd: int) -> int:
        """Wait for the start request, start the script, supervise it."""
        wake = self._install_signals()
        _set_name(NAME_SPARE)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGHUP, 0, 0, 0)
        if os.getppid() != self.parent:
            return EXIT_INTERNAL_ERROR  # the worker died before the prctl
        _warm_up()
        self._say(MSG_READY)
        waited = self._await_request(wake)
        if waited is None:
            return 0  # a spare the worker no longer needs
        line, commands = waited
        try:
            request = request_decode(line)
            self._begin(request)
            self.script = _start(
                request.argv, cwd=request.cwd, env=request.env, out_fd=out_fd
            )
        except (OSError, ValueError) as exc:
            self._say(f"{MSG_START_ERROR} {exc}")
            return EXIT_INTERNAL_ERROR
        finally:
            os.close(out_fd)
        self._say(f"{MSG_STARTED} {self.script}")
        for command in commands:
            self._command(bytes([command]))
        while not self.exiting:
            self._wait(wake)
            self._step()
        self._end_all()
        return 0

    def _begin(self, request: StartRequest) -> None:
        """Take the request's terms: the fence counts from now."""
        _set_name(NAME_SUPERVISOR)
        self.outcome = request.outcome
        self.fence_seconds = request.fence_seconds
        if request.fence_seconds is not None:
            self.fence_at = time.monotonic() + request.fence_seconds

    def _await_request(self, wake: int) -> tuple[bytes, bytes] | None:
        """Return the request line and any commands after it; None: no run.

        None when the worker closed the socket, died or asked for an end.
        """
        data = b""
        while b"\n" not in data:
            if self.ending or len(data) > REQUEST_MAX_BYTES:
                return None
            try:
                ready, _, _ = select.select([self.control, wake], [], [])
            except InterruptedError:
                continue
            if wake in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake, 512)
            if self.control in ready:
                try:
                    chunk = self.control.recv(1024 * 1024)
                except OSError:
                    chunk = b""
                if not chunk:
                    return None
                data += chunk
        line, _, rest = data.partition(b"\n")
        return line, rest

    def _install_signals(self) -> int:
        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for signum in END_SIGNALS:
            signal.signal(signum, self._on_end_signal)
        return read

    def _on_end_signal(self, signum: int, frame: object) -> None:
        self.ending = True

    def _wait(self, wake: int) -> None:
        timeout = None
        if self.fence_at is not None:
            timeout = max(self.fence_at - time.monotonic(), 0.0)
        try:
            ready, _, _ = select.select([self.control, wake], [], [], timeout)
        except InterruptedError:
            return
        if wake in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake, 512)
        if self.control in ready:
            self._commands()

    def _commands(self) -> None:
        try:
            data = self.control.recv(512)
        except OSError:
            data = b""
        if not data:  # the worker is gone
            self.ending = True
        for command in data:
            self._command(bytes([command]))

    def _command(self, command: bytes) -> None:
        if command == CMD_HEARTBEAT and self.fence_seconds is not None:
            self.fence_at = time.monotonic() + self.fence_seconds
        elif command == CMD_TERMINATE:
            self._reap()  # a script that exited first keeps its own status
            self.signalled = True
            process_tree.signal_all(process_tree.descendants(self.me), signal.SIGTERM)
        elif command == CMD_KILL:
            self._kill_all()
        elif command == CMD_EXIT:
            self.exiting = True

    def _step(self) -> None:
        self._reap()
        if self.ending:
            self.exiting = True
            return
        if self.fence_at is not None and time.monotonic() >= self.fence_at:
            self.fence_at = None
            # Said first, so that the worker reads it before the status of
            # the script this kills.
            if self.status is None:
                self._say(MSG_FENCED)
            self._kill_all()

    def _kill_all(self) -> None:
        # Without a child there is no descendant: every orphan below a
        # subreaper becomes its child. This spares the common case a walk.
        if self._reap():
            self.signalled = True
            process_tree.descendants_kill(self.me, reap=self._reap)
            self._reap()

    def _end_all(self) -> None:
        self._kill_all()
        # The worker reads the end of file as "everything ended".
        self.control.close()

    def _reap(self) -> bool:
        """Reap exited children; return whether any child is left."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True
            if pid == self.script and self.status is None:
                self.status = os.waitstatus_to_exitcode(status)
                self._save(self.status)
                if not (self.ending and self.signalled):
                    # A script this supervisor ended on its own end signal
                    # (its fork server died, a kill from outside) did not
                    # fail: with no status the worker records it lost.
                    self._say(f"{MSG_DONE} {self.status}")

    def _save(self, status: int) -> None:
        """Save the script's own exit durably, before anyone hears of it."""
        if self.outcome is None or self.signalled:
            return
        # The supervisor's start time is the spare's: the fork's, before
        # the run's, and the one the run records (`spawn` returns this pid).
        started = process_tree.start_time(self.me)
        if started is None:
            return
        folder, key = self.outcome
        path = run_outcomes.outcome_path(folder, key, self.me, started)
        saved = run_outcomes.SavedOutcome(exit_code=status, finished_at=time.time())
        with contextlib.suppress(OSError):
            run_outcomes.outcome_write(path, saved)

    def _say(self, line: str) -> None:
        with contextlib.suppress(OSError):
            self.control.sendall(line.encode("utf-8", errors="replace") + b"\n")


def _start(
    argv: Sequence[str], *, cwd: str, env: Mapping[str, str], out_fd: int
) -> int:  # pragma: no cover - runs in the forked child
    """Start `argv` in `cwd` with `env`; output to `out_fd`; return its pid."""
    if not argv:
        raise ValueError("empty argv")
    os.chdir(cwd)
    program = _which(argv[0], env)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, out_fd, 1),
        (os.POSIX_SPAWN_DUP2, out_fd, 2),
    ]
    return os.posix_spawn(
        program,
        list(argv),
        dict(env),
        file_actions=actions,
        setsigmask=(),
        setsigdef=(*DEFAULT_SIGNALS, *END_SIGNALS, signal.SIGCHLD),
    )


def _which(name: str, env: Mapping[str, str]) -> str:  # pragma: no cover
    """Return the program `name` runs, looked up on `env`'s PATH as exec does."""
    if "/" in name:
        return name
    for folder in os.get_exec_path(dict(env)):
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(2, "No such file or directory", name)
