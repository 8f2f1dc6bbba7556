"""Find and end a process and all its descendants, through Linux's /proc.

Pure Python, no Django imports. A process is named by its pid *and* its
start time (field 22 of /proc/PID/stat, clock ticks since boot), so that a
pid the kernel has since given to another process is never signalled:
`tree_end` checks the start time before it kills anything.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

PROC = Path("/proc")
BOOT_ID_PATH = PROC / "sys/kernel/random/boot_id"
# A process in one of these states is dead (a zombie waiting to be reaped).
DEAD_STATES = frozenset({"Z", "X", "x"})
# How long `tree_end` keeps killing what it finds before it gives up.
END_SECONDS = 5.0


def boot_id() -> str:
    """Return this boot's id (empty where /proc does not tell)."""
    try:
        return BOOT_ID_PATH.read_text().strip()
    except OSError:
        return ""


def _stat_fields(pid: int) -> list[str] | None:
    """Return /proc/PID/stat's fields from the state on, or None if gone.

    The command name (field 2) may hold spaces and parentheses, so the
    fields are read after its last closing parenthesis: [0] is the state
    (field 3), [1] the parent pid (field 4), [19] the start time (field 22).
    """
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    return text.rpartition(")")[2].split()


def start_time(pid: int) -> int | None:
    """Return `pid`'s start time in clock ticks since boot, or None if gone."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def started_unix(pid: int) -> float | None:
    """Return when `pid` started, in Unix time, or None if gone (or a zombie).

    Never later than the true start: the boot time /proc gives is whole
    seconds, rounded down.
    """
    fields = _stat_fields(pid)
    if not fields or fields[0] in DEAD_STATES or len(fields) <= 19:
        return None
    try:
        lines = (PROC / "stat").read_text().splitlines()
    except OSError:
        return None
    boot = next((line.split()[1] for line in lines if line.startswith("btime ")), None)
    if boot is None:
        return None
    return int(boot) + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def is_alive(pid: int, started: int | None = None) -> bool:
    """Return whether `pid` runs (not a zombie) and, if given, started then."""
    fields = _stat_fields(pid)
    if not fields or fields[0] in DEAD_STATES:
        return False
    return started is None or int(fields[19]) == started


def _parents() -> dict[int, int]:
    """Return {pid: parent pid} for every live process."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and fields[0] not in DEAD_STATES:
            parents[int(entry.name)] = int(fields[1])
    return parents


def _children(pid: int) -> list[int]:
    """Return `pid`'s children, as each of its threads' children file lists them."""
    found: list[int] = []
    try:
        tasks = os.listdir(PROC / str(pid) / "task")
    except OSError:
        return found  # gone
    for task in tasks:
        try:
            text = (PROC / str(pid) / "task" / task / "children").read_text()
        except OSError:
            continue  # the thread ended
        found += [int(child) for child in text.split()]
    return found


def _has_children_files() -> bool:
    """Return whether this kernel lists a task's children (CONFIG_PROC_CHILDREN)."""
    return (PROC / "self" / "task" / str(os.getpid()) / "children").exists()


# Read once: a kernel feature, the same for every process on the host.
HAS_CHILDREN_FILES = _has_children_files()


def descendants(pid: int) -> list[int]:
    """Return the live descendants of `pid`, parents before their children.

    Walked down from `pid` through each process's children files, which
    costs the size of the tree; a walk of every process in /proc (the
    fallback where the kernel lacks those files) cost the run supervisor
    1.7 ms at each script's end on a host with 86 processes.
    """
    if not HAS_CHILDREN_FILES:
        return _descendants_by_walk(pid)
    found: list[int] = []
    queue = _children(pid)
    while queue:
        current = queue.pop(0)
        fields = _stat_fields(current)
        if not fields or fields[0] in DEAD_STATES:
            continue  # a zombie has no children: they went to a reaper
        found.append(current)
        queue.extend(_children(current))
    return found


def _descendants_by_walk(pid: int) -> list[int]:
    """`descendants` from a walk of every process's parent in /proc."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found: list[int] = []
    queue = list(children.get(pid, []))
    while queue:
        current = queue.pop(0)
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def signal_all(pids: list[int], signum: int) -> None:
    """Send `signum` to each of `pids` that still exists."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def descendants_kill(
    pid: int, *, seconds: float = END_SECONDS, reap: Callable[[], object] | None = None
) -> bool:
    """SIGKILL `pid`'s descendants until none is left; True once none is.

    Killing a process hands its children to the nearest subreaper (or
    init), so the walk is repeated until it finds nobody. Each pass first
    stops everything found, so that nothing forks while it is killed.
    `reap` collects the killed processes when the caller is their parent
    (the supervisor); nobody else may reap them.
    """
    deadline = time.monotonic() + seconds
    while True:
        found = descendants(pid)
        if not found:
            return True
        if time.monotonic() >= deadline:
            return False
        signal_all(found, signal.SIGSTOP)
        signal_all(found, signal.SIGKILL)
        if reap is not None:
            reap()
        time.sleep(0.001)


def tree_end(pid: int, started: int, *, seconds: float = END_SECONDS) -> bool:
    """End process `pid` (if it is the one that started at `started`) and
    its descendants; return True once nothing of that tree is alive.

    A pid that now belongs to another process, or to nobody, is left
    alone and counts as ended.
    """
    if not is_alive(pid, started):
        return True
    # Stop the head first: a supervisor (a subreaper) keeps collecting the
    # orphans of what is killed below it, so they stay findable.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGSTOP)
    if not descendants_kill(pid, seconds=seconds):
        return False
    if is_alive(pid, started):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + seconds
    while is_alive(pid, started):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.001)
    return True
