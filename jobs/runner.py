"""Run a job's process: spawn it, time it out or cancel it, capture its output.

Pure Python, no Django imports. The script runs under a supervisor
(`jobs.supervisor`), its parent and the subreaper of everything it starts,
in a session of its own. A timeout or a cancel sends SIGTERM to every
descendant (those that called ``setsid()`` or double-forked included), then
SIGKILL after a grace period. Once the script exits, whatever it left
behind is killed too, and the supervisor ends it all if the worker dies.

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
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from jobs.folder_size import FolderLimit, FolderWatch
from jobs.supervisor import CMD_HEARTBEAT, CMD_KILL, CMD_TERMINATE, Supervised, spawn

logger = logging.getLogger(__name__)

MSG_START_ERROR = "could not start: {error}"
MSG_LEASE_LOST = "not started: the run's lease ran out before its start"
MSG_DROPPED = "\n... [{dropped} bytes of output dropped] ...\n"
MSG_ARTIFACTS_OVER = (
    "The artifacts folder passed the limit of {limit} bytes "
    "(JOB_PORTAL_ARTIFACTS_MAX_BYTES) while the script ran: {size} bytes or "
    "more; the script was ended and no artifacts were kept."
)
# Where the run stopped watching: why `_watch` returned.
EXITED = "exited"
TIMED_OUT = "timed_out"
CANCELLED = "cancelled"
ARTIFACTS_OVER = "artifacts_over"
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
    # The longest the script may run without its lease being renewed.
    fence_seconds: float | None = None
    # The run's artifacts folder and its limit, checked while the script runs.
    artifacts: FolderLimit | None = None


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
    # The supervisor ended the script: its lease was not renewed in time.
    lease_expired: bool = False
    # The supervisor died before reporting the script's exit: something
    # outside (same-host recovery's `process_tree.tree_end`) killed both;
    # `exit_code` is then the supervisor's own status.
    supervisor_ended: bool = False
    # Ended because its artifacts folder passed the limit (`error` says so).
    artifacts_too_large: bool = False


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


class Lease:
    """When a run's lease was last renewed (`time.monotonic`), for its supervisor.

    The worker sets `renewed_at` after each renewal in the database (from
    another thread); the runner then tells the supervisor, whose fence
    timer starts again.
    """

    def __init__(self, renewed_at: float) -> None:
        """Start with the lease renewed at `renewed_at`."""
        self.renewed_at = renewed_at


class _Supervisor:
    """Read a supervised script's output, stop it, and collect its status.

    The supervisor process (`jobs.supervisor`) is the script's parent and
    subreaper: it reports the script's exit and, on command, ends every
    descendant. It is only reaped at the very end, so its pid, which is its
    process group's id, cannot be reused while a signal may be sent to it.
    """

    def __init__(
        self,
        handle: Supervised,
        buffer: OutputBuffer,
        *,
        clock: Callable[[], float],
        on_output: Callable[[str, int], None] | None,
        output_interval_seconds: float,
        lease: Lease | None = None,
    ) -> None:
        """Watch `handle`'s output pipe and control socket."""
        self.handle = handle
        self.buffer = buffer
        self.clock = clock
        self.is_eof = False
        self._on_output = on_output
        self._interval = output_interval_seconds
        self._lease = lease
        self._told_renewal = lease.renewed_at if lease is not None else 0.0
        self._fd = handle.output_fd
        os.set_blocking(self._fd, False)
        _widen_pipe(self._fd)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self._selector.register(handle.control, selectors.EVENT_READ)
        self._flushed_at = clock()
        self._flushed_total = 0

    def has_exited(self) -> bool:
        """Return whether the script has exited (or its supervisor died)."""
        self.handle.read_messages()
        return self.handle.exit_code is not None or self.handle.has_exited()

    def pump(self, seconds: float) -> None:
        """Read what the pipe offers within `seconds`, then flush if due."""
        self._pass_renewal()
        if self.is_eof:
            # Nothing left to select on; wait for the script instead.
            self._await_exit(seconds)
        else:
            for key, _ in self._selector.select(max(seconds, 0)):
                if key.fd == self._fd:
                    self._read_available()
                else:
                    self.handle.read_messages()
        self._flush_if_due()

    def _pass_renewal(self) -> None:
        """Tell the supervisor of a lease renewal it has not heard of yet."""
        if self._lease is not None and self._lease.renewed_at > self._told_renewal:
            self._told_renewal = self._lease.renewed_at
            self.handle.send(CMD_HEARTBEAT)

    def _await_exit(self, seconds: float) -> None:
        """Wait up to `seconds` for the script's exit, polling from 1 ms up.

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
        """Pump until EOF and the script's exit, for at most `seconds`."""
        deadline = self.clock() + seconds
        while not (self.is_eof and self.has_exited()):
            remaining = deadline - self.clock()
            if remaining <= 0:
                return
            self.pump(min(POLL_SECONDS, remaining))

    def terminate(self) -> None:
        """Send SIGTERM to the script and all its descendants."""
        self.handle.send(CMD_TERMINATE)

    def kill(self) -> None:
        """SIGKILL the script and all its descendants."""
        self.handle.send(CMD_KILL)

    def close(self) -> int | None:
        """End what is left, reap the supervisor, return the script's code."""
        code = self.handle.close()
        self._selector.close()
        os.close(self._fd)
        return code

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
    sup: _Supervisor,
    spec: ProcessSpec,
    cancel: threading.Event | None,
    start: float,
    folder: FolderWatch | None,
) -> str:
    """Pump until the leader exits or must be ended; return why it stopped.

    EXITED, TIMED_OUT, CANCELLED, or ARTIFACTS_OVER: the artifacts folder
    (measured every `folder.every_seconds`) holds more than its limit.
    """
    deadline = None if spec.timeout_seconds is None else start + spec.timeout_seconds
    while not sup.has_exited():
        if cancel is not None and cancel.is_set():
            return CANCELLED
        now = sup.clock()
        if deadline is not None and now >= deadline:
            return TIMED_OUT
        if folder is not None and folder.is_over():
            return ARTIFACTS_OVER
        wait = POLL_SECONDS if deadline is None else min(POLL_SECONDS, deadline - now)
        sup.pump(wait)
    return EXITED


def _fence_left(
    spec: ProcessSpec, lease: Lease | None, clock: Callable[[], float]
) -> float | None:
    """Return how long the script may run unrenewed from now (None: no limit).

    With a lease, the fence runs out `fence_seconds` after the lease's last
    renewal, not after the start.
    """
    fence = spec.fence_seconds
    if fence is not None and lease is not None:
        fence = max(fence - (clock() - lease.renewed_at), 0.0)
    return fence


def _start(
    spec: ProcessSpec,
    lease: Lease | None,
    clock: Callable[[], float],
    outcome: tuple[str, str] | None,
) -> Supervised:
    """Start `spec` under a supervisor, output on one pipe."""
    fence = _fence_left(spec, lease, clock)
    folder, key = outcome or (None, "")
    return spawn(
        spec.argv,
        cwd=spec.cwd,
        env=spec.env,
        fence_seconds=fence,
        outcome_dir=folder,
        outcome_key=key,
    )


def run_process(
    spec: ProcessSpec,
    *,
    cancel: threading.Event | None = None,
    on_output: Callable[[str, int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    lease: Lease | None = None,
    output_interval_seconds: float = 1.0,
    head_bytes: int = 64 * 1024,
    tail_bytes: int = 192 * 1024,
    clock: Callable[[], float] = time.monotonic,
    drain_seconds: float = 2.0,
    outcome: tuple[str, str] | None = None,
) -> ProcessResult:
    """Run `spec` to its end, its timeout or `cancel`, and return the result.

    `on_start(supervisor_pid)` is called once the script has started.
    `on_output(output, dropped_bytes)` is called at most every
    `output_interval_seconds`, and only when new output arrived. Output,
    streamed or final, comes with `spec.mask`'s values masked. After a
    normal exit, output is read until EOF for at most `drain_seconds` (a
    background process may hold the pipe), then every descendant left is
    killed. With `spec.fence_seconds`, `lease` must be renewed at least
    that often, or the supervisor ends the script (`lease_expired`).
    With `outcome` (folder, key), the supervisor saves the script's own exit
    there before reporting it (`jobs.run_outcomes`).
    """
    start = clock()
    if _fence_left(spec, lease, clock) == 0.0:
        # Stalled (SIGSTOP, a long pause) since the claim: the run may have
        # been taken over already, so the script must not start.
        return ProcessResult(
            exit_code=None,
            timed_out=False,
            cancelled=False,
            output="",
            dropped_bytes=0,
            duration_seconds=0.0,
            error=MSG_LEASE_LOST,
            lease_expired=True,
        )
    try:
        handle = _start(spec, lease, clock, outcome)
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
        handle,
        buffer,
        clock=clock,
        on_output=on_output,
        output_interval_seconds=output_interval_seconds,
        lease=lease,
    )
    folder = None
    if spec.artifacts is not None:
        folder = FolderWatch(spec.artifacts, clock=clock)
    try:
        if on_start is not None:
            on_start(handle.pid)
        stopped = _watch(sup, spec, cancel, start, folder)
        # Ended like a timeout: SIGTERM to the whole tree, SIGKILL after grace.
        if stopped != EXITED:
            sup.terminate()
            sup.drain(spec.kill_grace_seconds)
        else:
            sup.drain(drain_seconds)
        sup.kill()
        sup.drain(FINAL_DRAIN_SECONDS)
    finally:
        exit_code = sup.close()
    error = ""
    if stopped == ARTIFACTS_OVER and folder is not None:
        error = MSG_ARTIFACTS_OVER.format(
            limit=folder.limit.max_bytes, size=folder.last_bytes
        )
        # Said in the output too, where a reader of the run looks first.
        buffer.write(f"\n[portal] {error}\n".encode())
    return ProcessResult(
        exit_code=exit_code,
        timed_out=stopped == TIMED_OUT,
        cancelled=stopped == CANCELLED,
        output=buffer.render(),
        dropped_bytes=buffer.dropped_bytes,
        duration_seconds=clock() - start,
        error=error,
        lease_expired=handle.is_fenced,
        supervisor_ended=handle.exit_code is None and not handle.is_fenced,
        artifacts_too_large=stopped == ARTIFACTS_OVER,
    )
