"""Measure a folder while a script writes into it, cheaply and boundedly.

Pure Python, no Django imports. The runner calls `FolderWatch.is_over`
from its pump loop to end a run whose artifacts folder passed the per-run
limit while the script still runs, instead of letting it fill the disk.
Sizes are those the end-of-run collection counts (`jobs.services.artifacts`):
the `st_size` of regular files, symlinks never followed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

# Entries one measurement looks at, at most: a script that makes millions
# of tiny files cannot make the check itself slow. Past the cap the size is
# a lower bound (the exact size is still checked when the run ends).
MAX_ENTRIES = 50_000
# How often the folder is measured: as often as every MIN_CHECK_SECONDS
# while a walk is cheap (a fast writer then overshoots the limit by at most
# what it writes in that time), less often as the walk gets costly, so that
# it never takes more than 1/COST_SHARE of the run's thread; at least
# every MAX_CHECK_SECONDS.
MIN_CHECK_SECONDS = 0.1
MAX_CHECK_SECONDS = 1.0
COST_SHARE = 20


@dataclass(frozen=True)
class FolderLimit:
    """A folder and the bytes of regular files it may hold."""

    path: str
    max_bytes: int


def folder_bytes(
    path: str, *, stop_above: int | None = None, max_entries: int = MAX_ENTRIES
) -> int:
    """Return the bytes of the regular files under `path` (0 if it is missing).

    Stops counting once past `stop_above` bytes or after `max_entries`
    entries, returning what it counted so far. Folders that vanish or may
    not be read while it walks are left out.
    """
    total = 0
    seen = 0
    pending = [path]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    seen += 1
                    total += _entry_bytes(entry, pending)
                    if seen >= max_entries or (
                        stop_above is not None and total > stop_above
                    ):
                        return total
        except OSError:
            continue
    return total


def _entry_bytes(entry: os.DirEntry[str], pending: list[str]) -> int:
    """Return a regular file's size; queue a real (not symlinked) folder."""
    try:
        if entry.is_dir(follow_symlinks=False):
            pending.append(entry.path)
            return 0
        if entry.is_file(follow_symlinks=False):
            return entry.stat(follow_symlinks=False).st_size
    except OSError:
        # Removed between the listing and the stat.
        return 0
    return 0


class FolderWatch:
    """Tell, when a measurement is due, whether a folder passed its limit."""

    def __init__(self, limit: FolderLimit, *, clock: Callable[[], float]) -> None:
        """Watch `limit.path`; the first measurement is due at once."""
        self.limit = limit
        self.clock = clock
        self.last_bytes = 0
        self._due_at = clock()

    def is_over(self) -> bool:
        """Return True once the folder holds more than the limit (when due)."""
        started = self.clock()
        if started < self._due_at:
            return False
        self.last_bytes = folder_bytes(self.limit.path, stop_above=self.limit.max_bytes)
        finished = self.clock()
        pause = (finished - started) * COST_SHARE
        self._due_at = finished + min(max(pause, MIN_CHECK_SECONDS), MAX_CHECK_SECONDS)
        return self.last_bytes > self.limit.max_bytes
