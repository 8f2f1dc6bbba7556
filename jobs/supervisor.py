"""The run supervisor: a small process of ours between the worker and a script.

Pure Python, no Django imports. `spawn` forks the calling (worker) process;
the child becomes the supervisor: the leader of a new session and process
group, a child subreaper (`PR_SET_CHILD_SUBREAPER`, so every orphan below it,
even one that called ``setsid()`` or double-forked, becomes its child and
stays findable) and it asks for SIGHUP when the worker dies
(`PR_SET_PDEATHSIG`). It then starts the script with ``posix_spawn`` and
stays its parent. A fork costs about a millisecond; a fresh interpreter
(``python -m``) would cost tens (bench/supervisor_start.py).

The worker and the supervisor talk over a socket pair, one byte per
command from the worker (`CMD_*`) and one line per message back (`MSG_*`).
The supervisor ends every descendant of the script (SIGSTOP, then SIGKILL,
repeated until a walk of /proc finds none) when:

* the worker says so (``k``: kill, ``x``: kill and exit; ``t`` only sends
  SIGTERM to all of them, for a graceful stop);
* the worker dies: SIGHUP (the death signal) or the socket's end of file,
  whichever comes first; or
* the lease runs out: with `fence_seconds`, the worker must send ``h``
  (after each renewal of the run's lease in the database) at least that
  often, or the supervisor ends the script itself, reports ``F`` and
  waits for the worker. A stopped (SIGSTOP) or cut-off worker's script
  therefore stops before any other worker may take the run over.

When the script itself exits, the supervisor reports its status (``D``,
as `subprocess` gives it: the exit code, or minus the signal) and keeps
its leftovers until the worker has drained their output and says ``x``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from jobs import process_tree

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# Commands, worker to supervisor.
CMD_HEARTBEAT = b"h"
CMD_TERMINATE = b"t"
CMD_KILL = b"k"
CMD_EXIT = b"x"
# Messages, supervisor to worker (one line each).
MSG_STARTED = "S"
MSG_START_ERROR = "E"
MSG_DONE = "D"
MSG_FENCED = "F"
# Signals that mean "the worker is gone or wants everything ended".
END_SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
# What the script gets back to the default (Python ignores these two).
DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)
START_TIMEOUT_SECONDS = 30.0
EXIT_INTERNAL_ERROR = 70

_libc = ctypes.CDLL(None, use_errno=True)


MSG_UNSUPPORTED = (
    "Runs need Linux: the run supervisor uses prctl(PR_SET_CHILD_SUBREAPER, "
    "PR_SET_PDEATHSIG) and /proc, which this system ({platform}) lacks."
)


def unsupported_reason(platform: str | None = None) -> str | None:
    """Return why runs cannot be supervised here, or None where they can."""
    platform = sys.platform if platform is None else platform
    if (
        platform.startswith("linux")
        and hasattr(_libc, "prctl")
        and os.path.exists("/proc/self/stat")
    ):
        return None
    return MSG_UNSUPPORTED.format(platform=platform)


class SupervisorError(OSError):
    """The supervisor could not start the script (the text says why)."""


@dataclass
class Supervised:
    """The worker's side of a started supervisor and its script."""

    pid: int
    output_fd: int
    control: socket.socket
    script_pid: int = 0
    exit_code: int | None = None
    is_fenced: bool = False
    _pending: bytes = field(default=b"", repr=False)

    def send(self, command: bytes) -> None:
        """Send one command; a supervisor already gone needs none."""
        with contextlib.suppress(OSError):
            self.control.send(command)

    def read_messages(self) -> None:
        """Read what the supervisor reported so far, without blocking."""
        while True:
            try:
                data = self.control.recv(4096, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                return
            self.take(data)

    def take(self, data: bytes) -> None:
        """Read the messages in `data` (lines; a partial one waits for more)."""
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            kind, _, rest = line.decode("utf-8", errors="replace").partition(" ")
            if kind == MSG_DONE:
                self.exit_code = int(rest)
            elif kind == MSG_FENCED and self.exit_code is None:
                self.is_fenced = True

    def has_exited(self) -> bool:
        """Return whether the supervisor process has exited (not reaping it)."""
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        try:
            return os.waitid(os.P_PID, self.pid, flags) is not None
        except ChildProcessError:
            return True

    def close(self, seconds: float = 2.0) -> int | None:
        """Tell the supervisor to end everything and exit; reap it.

        Return the script's exit code, or (if the supervisor died without
        telling) the supervisor's own. The supervisor closes its end of the
        socket once everything below it has ended; its own exit (tearing
        down a copy of the worker's memory) is reaped later when it takes
        long, off the run's path.
        """
        self.send(CMD_EXIT)
        self.control.settimeout(seconds)
        with contextlib.suppress(OSError):
            while data := self.control.recv(4096):
                self.take(data)
        self.control.close()
        own = _reap(self.pid)
        if own is _RUNNING:
            if self.exit_code is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
            _reap_later(self.pid)
            own = None
        return self.exit_code if self.exit_code is not None else own


_RUNNING = -(2**31)
_late: set[int] = set()
_late_lock = threading.Lock()


def _reap(pid: int) -> int | None:
    """Reap `pid` if it has exited: its exit code, `_RUNNING`, or None if gone."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return _RUNNING if done == 0 else os.waitstatus_to_exitcode(status)


def _reap_later(pid: int) -> None:
    """Remember `pid` to reap; reap those remembered earlier that have exited."""
    with _late_lock:
        _late.add(pid)
        for old in list(_late):
            if _reap(old) != _RUNNING:
                _late.discard(old)


def spawn(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    fence_seconds: float | None = None,
) -> Supervised:
    """Start a supervisor that starts `argv`; raise SupervisorError if it cannot.

    The script's stdout and stderr go to one pipe, `Supervised.output_fd`.
    """
    out_read, out_write = os.pipe()
    ours, theirs = socket.socketpair()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its effects are tested
        _child(
            argv,
            cwd=cwd,
            env=env,
            parent=parent,
            out_fd=out_write,
            control=theirs,
            fence_seconds=fence_seconds,
        )
    os.close(out_write)
    theirs.close()
    handle = Supervised(pid=pid, output_fd=out_read, control=ours)
    try:
        first, rest = _first_message(ours)
    except OSError:
        first, rest = "", b""
    kind, _, text = first.partition(" ")
    if kind == MSG_STARTED:
        handle.script_pid = int(text)
        # The script may have ended already: its status came along.
        handle.take(rest)
        return handle
    handle.close()
    os.close(out_read)
    raise SupervisorError(text or "the supervisor ended before the script started")


def _first_message(sock: socket.socket) -> tuple[str, bytes]:
    """Read the supervisor's first line (started, or why not), and the rest."""
    sock.settimeout(START_TIMEOUT_SECONDS)
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    sock.setblocking(True)
    line, _, rest = data.partition(b"\n")
    return line.decode("utf-8", errors="replace"), rest


def _child(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    parent: int,
    out_fd: int,
    control: socket.socket,
    fence_seconds: float | None,
) -> NoReturn:  # pragma: no cover - runs in the forked child
    """Become the supervisor; never return (a forked worker must not)."""
    code = EXIT_INTERNAL_ERROR
    try:
        os.setsid()
        _close_other_fds(keep=(out_fd, control.fileno()))
        sup = _Loop(control, parent=parent, fence_seconds=fence_seconds)
        code = sup.run(argv, cwd=cwd, env=env, out_fd=out_fd)
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


class _Loop:  # pragma: no cover - runs in the forked child
    """The supervisor's event loop."""

    def __init__(
        self, control: socket.socket, *, parent: int, fence_seconds: float | None
    ) -> None:
        self.control = control
        self.parent = parent
        self.fence_seconds = fence_seconds
        self.fence_at = (
            None if fence_seconds is None else time.monotonic() + fence_seconds
        )
        self.script = 0
        self.status: int | None = None
        self.ending = False
        self.exiting = False
        self.me = os.getpid()

    def run(
        self, argv: Sequence[str], *, cwd: str, env: Mapping[str, str], out_fd: int
    ) -> int:
        wake = self._install_signals()
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGHUP, 0, 0, 0)
        if os.getppid() != self.parent:
            return EXIT_INTERNAL_ERROR  # the worker died before the prctl
        try:
            self.script = _start(argv, cwd=cwd, env=env, out_fd=out_fd)
        except (OSError, ValueError) as exc:
            self._say(f"{MSG_START_ERROR} {exc}")
            return EXIT_INTERNAL_ERROR
        finally:
            os.close(out_fd)
        self._say(f"{MSG_STARTED} {self.script}")
        while not self.exiting:
            self._wait(wake)
            self._step()
        self._end_all()
        return 0

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
        for command in data.decode("ascii", errors="replace"):
            self._command(command.encode())

    def _command(self, command: bytes) -> None:
        if command == CMD_HEARTBEAT and self.fence_seconds is not None:
            self.fence_at = time.monotonic() + self.fence_seconds
        elif command == CMD_TERMINATE:
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
                self._say(f"{MSG_DONE} {self.status}")

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
