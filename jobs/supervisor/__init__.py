"""The run supervisor: a small process of ours between the worker and a script.

Pure Python, no Django imports. The supervisor is a fork of the fork
server, a small process the worker starts (`jobs.supervisor.forkserver`,
`jobs.supervisor.child`): the leader of a new session and process group,
a child subreaper (`PR_SET_CHILD_SUBREAPER`, so every orphan below it, even
one that called ``setsid()`` or double-forked, becomes its child and stays
findable) that asks for SIGHUP when the fork server dies
(`PR_SET_PDEATHSIG`), which happens when the worker dies. It starts the
script with ``posix_spawn`` and stays its parent. The worker has
supervisors forked ahead of need: `spawn` takes a spare that waits for
its start request (`jobs.supervisor.pool`), and has one forked on the
spot only when none is ready. The worker watches a supervisor's exit
through its pidfd; the fork server reaps it.

The worker and the supervisor talk over a socket pair
(`jobs.supervisor.protocol`): a start request, then one byte per command
from the worker (`CMD_*`), and one line per message back (`MSG_*`).
The supervisor ends every descendant of the script (SIGSTOP, then SIGKILL,
repeated until a walk of /proc finds none) when:

* the worker says so (``k``: kill, ``x``: kill and exit; ``t`` only sends
  SIGTERM to all of them, for a graceful stop);
* the worker dies: SIGHUP (the death signal) or the socket's end of file,
  whichever comes first; or
* the lease runs out: with `fence_seconds`, the worker must send ``h``
  (after each renewal of the run's lease in the database) at least that
  often, counted from the start request, or the supervisor ends the script
  itself, reports ``F`` and waits for the worker. A stopped (SIGSTOP) or
  cut-off worker's script therefore stops before any other worker may
  take the run over.

When the script itself exits, the supervisor reports its status (``D``,
as `subprocess` gives it: the exit code, or minus the signal) and keeps
its leftovers until the worker has drained their output and says ``x``.
With `outcome_dir`, it first writes that status durably to a file there
(`jobs.run_outcomes`), unless it had signalled the script itself (timeout,
cancel, fence, worker gone): a worker that dies or stalls before recording
a finished script's result leaves it for recovery on this host to record.
The file's name carries the supervisor's pid and start time (the spare's
fork, a little before the run): the values the run records.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from jobs.supervisor import pool
from jobs.supervisor.child import libc
from jobs.supervisor.protocol import (
    CMD_EXIT,
    CMD_HEARTBEAT,
    CMD_KILL,
    CMD_TERMINATE,
    MSG_DONE,
    MSG_FENCED,
    MSG_STARTED,
    START_TIMEOUT_SECONDS,
    SupervisorError,
    read_line,
    request_encode,
)

__all__ = [
    "CMD_EXIT",
    "CMD_HEARTBEAT",
    "CMD_KILL",
    "CMD_TERMINATE",
    "MSG_UNSUPPORTED",
    "Supervised",
    "SupervisorError",
    "spawn",
    "unsupported_reason",
]

MSG_UNSUPPORTED = (
    "Runs need Linux: the run supervisor uses prctl(PR_SET_CHILD_SUBREAPER, "
    "PR_SET_PDEATHSIG) and /proc, which this system ({platform}) lacks."
)


def unsupported_reason(platform: str | None = None) -> str | None:
    """Return why runs cannot be supervised here, or None where they can."""
    platform = sys.platform if platform is None else platform
    if (
        platform.startswith("linux")
        and hasattr(libc, "prctl")
        and os.path.exists("/proc/self/stat")
    ):
        return None
    return MSG_UNSUPPORTED.format(platform=platform)


@dataclass
class Supervised:
    """The worker's side of a started supervisor and its script."""

    pid: int
    output_fd: int
    control: socket.socket
    pidfd: int
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
        """Return whether the supervisor process has exited."""
        return pool.has_exited(self.pidfd)

    def close(self, seconds: float = 2.0) -> int | None:
        """Tell the supervisor to end everything and exit; let it go.

        Return the script's exit code, or None if the supervisor died
        without telling. The supervisor closes its end of the socket once
        everything below it has ended; should it not have, its process
        group is killed. The fork server reaps it. The pool then forks a
        spare to replace the one this was: at the run's end, not while
        other runs start.
        """
        self.send(CMD_EXIT)
        self.control.settimeout(seconds)
        with contextlib.suppress(OSError):
            while data := self.control.recv(4096):
                self.take(data)
        self.control.close()
        if self.exit_code is None and not self.has_exited():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        os.close(self.pidfd)
        pool.pool_refill()
        return self.exit_code


def spawn(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    fence_seconds: float | None = None,
    outcome_dir: str | None = None,
    outcome_key: str = "",
) -> Supervised:
    """Start a supervisor that starts `argv`; raise SupervisorError if it cannot.

    The script's stdout and stderr go to one pipe, `Supervised.output_fd`.
    With `outcome_dir`, the script's own exit is saved there under
    `outcome_key` (`jobs.run_outcomes.outcome_path`) before it is reported.
    A spare of the pool is used if one waits; otherwise one is forked now.
    """
    request = request_encode(
        argv,
        cwd=cwd,
        env=env,
        fence_seconds=fence_seconds,
        outcome=(outcome_dir, outcome_key) if outcome_dir else None,
    )
    spare = pool.spare_take() or pool.spare_fork()
    return _start(spare, request)


def _start(spare: pool.Spare, request: bytes) -> Supervised:
    """Have `spare` start the script `request` names; return its handle."""
    handle = Supervised(
        pid=spare.pid,
        output_fd=spare.output_fd,
        control=spare.control,
        pidfd=spare.pidfd,
    )
    try:
        spare.control.sendall(request)
        first, rest = read_line(spare.control, START_TIMEOUT_SECONDS)
    except OSError:
        first, rest = "", b""
    kind, _, text = first.partition(" ")
    if kind == MSG_STARTED:
        handle.script_pid = int(text)
        # The script may have ended already: its status came along.
        handle.take(rest)
        return handle
    handle.close()
    os.close(spare.output_fd)
    raise SupervisorError(text or "the supervisor ended before the script started")
