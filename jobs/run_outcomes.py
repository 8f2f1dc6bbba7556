"""A finished script's outcome, kept on its host until the database has it.

Pure Python, no Django imports. The run supervisor (`jobs.supervisor`)
writes the outcome of a script that exited on its own (its exit code, or
minus the signal, and when) to a file in the host's run-state folder
(``JOB_PORTAL_RUN_STATE_DIR``) before it reports it to its worker: written
to a temporary name, fsynced, renamed, and the folder fsynced, so the file
is whole or absent even after a power cut. The name carries the run's id
and the supervisor's pid and start time, as the run's row records them, so
an outcome is never read for another run or another supervisor of it.

The worker removes the file once the result is in the database. Recovery
on the same host reads the file of a run whose worker died or stalled
before recording it, and records that outcome instead of "lost".
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

SUFFIX = ".outcome"


@dataclass(frozen=True)
class SavedOutcome:
    """How a script ended: `subprocess`'s code and the Unix time it ended."""

    exit_code: int
    finished_at: float


def outcome_path(folder: str | Path, key: str, pid: int, started: int) -> Path:
    """Return the file of run `key`'s outcome under supervisor `pid`/`started`."""
    return Path(folder) / f"{key}-{pid}-{started}{SUFFIX}"


def outcome_write(path: Path, outcome: SavedOutcome) -> None:
    """Write `outcome` to `path` atomically and durably."""
    tmp = path.with_name(f".{path.name}.tmp")
    data = f"{outcome.exit_code} {outcome.finished_at:.6f}\n".encode("ascii")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def outcome_read(path: Path) -> SavedOutcome | None:
    """Return the outcome stored at `path`, or None if absent or unreadable."""
    try:
        code, finished = path.read_text("ascii").split()
        return SavedOutcome(exit_code=int(code), finished_at=float(finished))
    except (OSError, ValueError):
        return None


def outcome_remove(path: Path) -> None:
    """Remove the outcome at `path`, if there is one."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
