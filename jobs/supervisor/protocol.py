"""What the worker and a run supervisor say to each other over their socket.

Pure Python, no Django imports. The worker sends one start request (a JSON
line, `request_encode`), then one byte per command (`CMD_*`); the
supervisor answers one line per message (`MSG_*`).
"""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PR_SET_NAME = 15
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# Commands, worker to supervisor.
CMD_HEARTBEAT = b"h"
CMD_TERMINATE = b"t"
CMD_KILL = b"k"
CMD_EXIT = b"x"
# Messages, supervisor to worker (one line each).
MSG_READY = "R"
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
# Process names (/proc/PID/comm, what ps shows): a spare waiting for a run,
# and a supervisor with its script. A spare is no run's.
NAME_SPARE = b"jobs-spare"
NAME_SUPERVISOR = b"jobs-supervisor"
# The worker's fork server (`jobs.supervisor.forkserver`).
NAME_FORKSERVER = b"jobs-forkserver"


class SupervisorError(OSError):
    """The supervisor could not start the script (the text says why)."""


def read_line(sock: socket.socket, seconds: float) -> tuple[str, bytes]:
    """Read the supervisor's next line within `seconds`, and what came after.

    An empty line when the supervisor closed the socket first; OSError
    (TimeoutError) when it said nothing in time.
    """
    sock.settimeout(seconds)
    data = b""
    try:
        while b"\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        sock.setblocking(True)
    line, _, rest = data.partition(b"\n")
    return line.decode("utf-8", errors="replace"), rest


@dataclass(frozen=True)
class StartRequest:
    """What a supervisor is to start, and how it keeps the script in check."""

    argv: list[str]
    cwd: str
    env: dict[str, str]
    fence_seconds: float | None = None
    # (folder, key) where the script's own exit is saved (`jobs.run_outcomes`).
    outcome: tuple[str, str] | None = None


def request_encode(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    fence_seconds: float | None,
    outcome: tuple[str, str] | None,
) -> bytes:
    """Return the start request for these terms, one line ending in a newline."""
    document = {
        "argv": list(argv),
        "cwd": cwd,
        "env": dict(env),
        "fence_seconds": fence_seconds,
        "outcome": None if outcome is None else list(outcome),
    }
    # ASCII only, so that the line's one newline is the last byte.
    return json.dumps(document, ensure_ascii=True).encode("ascii") + b"\n"


def request_decode(line: bytes) -> StartRequest:
    """Return the start request in `line`; raise ValueError if it is not one."""
    try:
        document = json.loads(line)
        outcome = document["outcome"]
        fence = document["fence_seconds"]
        return StartRequest(
            argv=[str(word) for word in document["argv"]],
            cwd=str(document["cwd"]),
            env={str(k): str(v) for k, v in document["env"].items()},
            fence_seconds=None if fence is None else float(fence),
            outcome=None if outcome is None else (str(outcome[0]), str(outcome[1])),
        )
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(f"not a start request: {exc!r}") from exc
