"""Run a job's process: spawn it, time it out or cancel it, capture its output.

Pure Python, no Django imports. The script runs in its own session, so its
process group holds the script and everything it starts; a timeout or a
cancel sends SIGTERM to that whole group, then SIGKILL after a grace period.
Once the script exits, whatever it left behind in its group is killed too.

Output (stdout and stderr on one pipe, so they stay interleaved) is read in
chunks into a buffer that keeps only a head and a tail, so memory stays
bounded however much a script writes. The buffer masks the spec's secret
values whenever it renders text, so no unmasked output leaves this module:
neither through `on_output` nor in `ProcessResult.output`.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

MSG_START_ERROR = "could not start: {error}"
MSG_DROPPED = "\n... [{dropped} bytes of output dropped] ...\n"
MASK = "***"
READ_CHUNK_BYTES = 64 * 1024
# Chunks read per wake-up before timeouts and the cancel event are checked
# again, so that a flood of output cannot starve them.
READS_PER_PUMP = 16
POLL_SECONDS = 0.05
# A wider pipe than Linux's 64 KiB default means fewer context switches: a
# chatty script's output arrives several times faster.
PIPE_BYTES = 1024 * 1024
# After SIGKILL the writers are gone; this only bounds the wait for EOF when
# a process that left the group (setsid) still holds the pipe.
FINAL_DRAIN_SECONDS = 0.5
# Interpreter modes that ignore code hooks in the environment (see
# `interpreter_argv`); bash wants its long options before the short ones.
PYTHON_FLAGS = ("-I",)
BASH_FLAGS = ("--noprofile", "--norc", "-p")


@dataclass(frozen=True)
class ProcessSpec:
    """What to run, where, with which environment and time limits."""

    argv: list[str]
    cwd: str
    env: dict[str, str]
    timeout_seconds: float | None
    kill_grace_seconds: float = 5.0
    # Values (the job's secrets) written as MASK wherever output is rendered.
    mask: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProcessResult:
    """How a process ended and what it wrote."""

    exit_code: int | None
    timed_out: bool
    cancelled: bool
    output: str
    dropped_bytes: int
    duration_seconds: float
    error: str = ""


def interpreter_argv(
    script: Path, args: list[str], *, python: str = sys.executable
) -> list[str]:
    """Return the argv that runs `script` with `args`.

    ``.py`` runs with `python`, ``.sh`` with bash; anything else runs directly
    and so must be executable (if not, starting it fails with an error).
    Both interpreters start in a mode that ignores the environment's hooks
    into other code (`jobs.run_env` drops those variables as well): Python
    isolated (``-I``: no ``PYTHON*`` variables, no user site, no script
    folder on ``sys.path``), bash without startup files and privileged
    (``-p``: no ``BASH_ENV``/``ENV``, no imported functions, no
    ``SHELLOPTS``).
    """
    suffix = script.suffix.lower()
    if suffix == ".py":
        return [python, *PYTHON_FLAGS, str(script), *args]
    if suffix == ".sh":
        return ["bash", *BASH_FLAGS, str(script), *args]
    return [str(script), *args]


def secrets_pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """Return a pattern matching any non-empty secret, longest first, or None.

    Longest first, so that where secrets overlap the longer one wins; a
    single pass, so that a mask already written is never masked again.
    """
    values = sorted({value for value in secrets if value}, key=len, reverse=True)
    if not values:
        return None
    return re.compile("|".join(re.escape(value) for value in values))


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """Return `text` with every occurrence of each non-empty secret as ``***``.

    Longer secrets win where secrets overlap, and a mask already written is
    never masked again.
    """
    pattern = secrets_pattern(secrets)
    return text if pattern is None else pattern.sub(MASK, text)


def mask_open_end(text: str, secrets: Iterable[str]) -> str:
    """Return `text` with a trailing start of any secret written as ``***``.

    For output that is still being written: its end may be the first part
    of a secret whose rest has not arrived yet. The longest such piece is
    masked; a later render, with more output, shows it if it was not one.
    """
    size = max((_open_end(text, value) for value in secrets if value), default=0)
    return text[:-size] + MASK if size else text


def _open_end(text: str, secret: str) -> int:
    """Return the length of the longest proper prefix of `secret` ending `text`."""
    for size in range(min(len(secret) - 1, len(text)), 0, -1):
        if text.endswith(secret[:size]):
            return size
    return 0


class OutputBuffer:
    """Keep the first `head_bytes` and the last `tail_bytes` of a byte stream.

    `render()` masks every value of `mask` in the text it returns. It masks
    the rendered text as a whole, so a secret split across chunks, or across
    head and tail while nothing was dropped, is still masked; while the
    stream is open, the text's end is also masked if it may be a secret's
    first part. A secret cut by the dropped middle is not masked: what is
    left of it on either side of the marker is only a fragment, which
    cannot be told from ordinary output, so such fragments stay as written.
    """

    def __init__(
        self, head_bytes: int, tail_bytes: int, *, mask: Iterable[str] = ()
    ) -> None:
        """Start empty; compile the secrets to mask once."""
        self.head_bytes = head_bytes
        self.tail_bytes = tail_bytes
        self.total_bytes = 0
        self._mask_values = tuple(value for value in mask if value)
        self._mask = secrets_pattern(self._mask_values)
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_size = 0

    @property
    def dropped_bytes(self) -> int:
        """Return how many bytes between head and tail were thrown away."""
        return self.total_bytes - len(self._head) - self._tail_size

    def write(self, data: bytes) -> None:
        """Append `data`, dropping the middle of the stream as needed."""
        self.total_bytes += len(data)
        room = self.head_bytes - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data and self.tail_bytes > 0:
            self._tail.append(data)
            self._tail_size += len(data)
            self._trim_tail()

    def render(self, *, is_open: bool = False) -> str:
        """Return the text kept, masked, with a marker where bytes were dropped.

        `is_open`: more output may follow (see `mask_open_end`).
        """
        text = self._text()
        if self._mask is None:
            return text
        text = self._mask.sub(MASK, text)
        return mask_open_end(text, self._mask_values) if is_open else text

    def _text(self) -> str:
        tail = b"".join(self._tail)
        dropped = self.dropped_bytes
        if not dropped:
            return (bytes(self._head) + tail).decode("utf-8", errors="replace")
        return (
            self._head.decode("utf-8", errors="replace")
            + MSG_DROPPED.format(dropped=dropped)
            + tail.decode("utf-8", errors="replace")
        )

    def _trim_tail(self) -> None:
        excess = self._tail_size - self.tail_bytes
        while excess > 0:
            first = self._tail[0]
            if len(first) <= excess:
                self._tail.popleft()
                self._tail_size -= len(first)
                excess -= len(first)
            else:
                self._tail[0] = first[excess:]
                self._tail_size -= excess
                excess = 0


class _Supervisor:
    """Read a started process's output, signal its group and reap it.

    The group leader is only reaped at the very end: while it is unreaped
    (even as a zombie) its pid, which is the group id, cannot be reused, so
    signals sent to the group cannot reach an unrelated process.
    """

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        buffer: OutputBuffer,
        *,
        clock: Callable[[], float],
        on_output: Callable[[str, int], None] | None,
        output_interval_seconds: float,
    ) -> None:
        """Watch `proc`'s output pipe."""
        if proc.stdout is None:
            raise ValueError("The process must be started with stdout=PIPE.")
        self.proc = proc
        self.buffer = buffer
        self.clock = clock
        self.is_eof = False
        self._on_output = on_output
        self._interval = output_interval_seconds
        self._fd = proc.stdout.fileno()
        os.set_blocking(self._fd, False)
        _widen_pipe(self._fd)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self._flushed_at = clock()
        self._flushed_total = 0

    def has_exited(self) -> bool:
        """Return whether the group leader has exited, without reaping it."""
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        try:
            return os.waitid(os.P_PID, self.proc.pid, flags) is not None
        except ChildProcessError:  # reaped elsewhere: it has exited
            return True

    def pump(self, seconds: float) -> None:
        """Read what the pipe offers within `seconds`, then flush if due."""
        if self.is_eof:
            # Nothing left to select on; wait for the leader instead.
            self._await_exit(seconds)
        elif self._selector.select(max(seconds, 0)):
            self._read_available()
        self._flush_if_due()

    def _await_exit(self, seconds: float) -> None:
        """Wait up to `seconds` for the leader to exit, polling from 1 ms up.

        The kernel closes a child's pipe a moment before it marks the child
        exited, so the exit usually follows within a millisecond or two: a
        flat 50 ms sleep here used to add that much to most runs.
        """
        deadline = self.clock() + max(seconds, 0)
        pause = 0.001
        while not self.has_exited():
            remaining = deadline - self.clock()
            if remaining <= 0:
                return
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, POLL_SECONDS)

    def drain(self, seconds: float) -> None:
        """Pump until EOF and the leader's exit, for at most `seconds`."""
        deadline = self.clock() + seconds
        while not (self.is_eof and self.has_exited()):
            remaining = deadline - self.clock()
            if remaining <= 0:
                return
            self.pump(min(POLL_SECONDS, remaining))

    def signal_group(self, signum: signal.Signals) -> None:
        """Send `signum` to the process group, if it still has members."""
        try:
            os.killpg(self.proc.pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError:
            # macOS refuses to signal a group whose only member is a zombie.
            logger.warning("Not allowed to signal process group %s", self.proc.pid)

    def close(self) -> int:
        """Kill what is left of the group, reap the leader, return its code."""
        if self.proc.returncode is None:
            self.signal_group(signal.SIGKILL)
            # SIGKILL cannot be caught or ignored, so this wait ends.
            self.proc.wait()
        self._selector.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode

    def _read_available(self) -> None:
        for _ in range(READS_PER_PUMP):
            try:
                data = os.read(self._fd, READ_CHUNK_BYTES)
            except BlockingIOError:
                return
            if not data:
                self.is_eof = True
                self._selector.unregister(self._fd)
                return
            self.buffer.write(data)

    def _flush_if_due(self) -> None:
        if self._on_output is None or self.buffer.total_bytes == self._flushed_total:
            return
        now = self.clock()
        if now - self._flushed_at < self._interval:
            return
        self._flushed_at = now
        self._flushed_total = self.buffer.total_bytes
        output = self.buffer.render(is_open=not self.is_eof)
        self._on_output(output, self.buffer.dropped_bytes)


def _widen_pipe(fd: int) -> None:
    """Ask for a pipe of PIPE_BYTES; keep the default if refused or unknown."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if set_size is None:
        return
    # Refused above fs.pipe-max-size or past the user's pipe quota.
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, set_size, PIPE_BYTES)


def _watch(
    sup: _Supervisor, spec: ProcessSpec, cancel: threading.Event | None, start: float
) -> tuple[bool, bool]:
    """Pump until the leader exits; return (timed_out, cancelled)."""
    deadline = None if spec.timeout_seconds is None else start + spec.timeout_seconds
    while not sup.has_exited():
        if cancel is not None and cancel.is_set():
            return False, True
        now = sup.clock()
        if deadline is not None and now >= deadline:
            return True, False
        wait = POLL_SECONDS if deadline is None else min(POLL_SECONDS, deadline - now)
        sup.pump(wait)
    return False, False


def _start(spec: ProcessSpec) -> subprocess.Popen[bytes]:
    """Start `spec` as the leader of a new session, output on one pipe."""
    return subprocess.Popen(
        spec.argv,
        cwd=spec.cwd,
        env=spec.env,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        close_fds=True,
    )


def run_process(
    spec: ProcessSpec,
    *,
    cancel: threading.Event | None = None,
    on_output: Callable[[str, int], None] | None = None,
    output_interval_seconds: float = 1.0,
    head_bytes: int = 64 * 1024,
    tail_bytes: int = 192 * 1024,
    clock: Callable[[], float] = time.monotonic,
    drain_seconds: float = 2.0,
) -> ProcessResult:
    """Run `spec` to its end, its timeout or `cancel`, and return the result.

    `on_output(output, dropped_bytes)` is called at most every
    `output_interval_seconds`, and only when new output arrived. Output,
    streamed or final, comes with `spec.mask`'s values masked. After a
    normal exit, output is read until EOF for at most `drain_seconds` (a
    background process may hold the pipe), then the rest of the group is
    killed.
    """
    start = clock()
    try:
        proc = _start(spec)
    except (OSError, ValueError) as exc:
        # ValueError: an embedded null byte in argv or the environment.
        return ProcessResult(
            exit_code=None,
            timed_out=False,
            cancelled=False,
            output="",
            dropped_bytes=0,
            duration_seconds=clock() - start,
            # No text leaves the runner unmasked, this one included.
            error=mask_secrets(MSG_START_ERROR.format(error=exc), spec.mask),
        )
    buffer = OutputBuffer(head_bytes, tail_bytes, mask=spec.mask)
    sup = _Supervisor(
        proc,
        buffer,
        clock=clock,
        on_output=on_output,
        output_interval_seconds=output_interval_seconds,
    )
    try:
        timed_out, cancelled = _watch(sup, spec, cancel, start)
        if timed_out or cancelled:
            sup.signal_group(signal.SIGTERM)
            sup.drain(spec.kill_grace_seconds)
        else:
            sup.drain(drain_seconds)
        sup.signal_group(signal.SIGKILL)
        sup.drain(FINAL_DRAIN_SECONDS)
    finally:
        exit_code = sup.close()
    return ProcessResult(
        exit_code=exit_code,
        timed_out=timed_out,
        cancelled=cancelled,
        output=buffer.render(),
        dropped_bytes=buffer.dropped_bytes,
        duration_seconds=clock() - start,
    )
