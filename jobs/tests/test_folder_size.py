"""Tests for measuring an artifacts folder while a script writes into it."""

from __future__ import annotations

import os
from pathlib import Path

from jobs.folder_size import (
    MAX_CHECK_SECONDS,
    MIN_CHECK_SECONDS,
    FolderLimit,
    FolderWatch,
    folder_bytes,
)


class StepClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_counts_regular_files_in_subfolders_and_skips_links(tmp_path: Path) -> None:
    """Files at any depth count; symlinks to files or folders do not."""
    (tmp_path / "a.bin").write_bytes(b"x" * 100)
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "deeper" / "b.bin").write_bytes(b"x" * 50)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.bin"
    outside.write_bytes(b"x" * 10_000)
    os.symlink(outside, tmp_path / "link.bin")
    os.symlink(tmp_path.parent, tmp_path / "up")
    assert folder_bytes(str(tmp_path)) == 150


def test_a_missing_folder_holds_nothing(tmp_path: Path) -> None:
    """The script may not have made its folder yet."""
    assert folder_bytes(str(tmp_path / "absent")) == 0


def test_stops_counting_past_the_limit(tmp_path: Path) -> None:
    """Past `stop_above` the walk returns at once, with more than the limit."""
    for n in range(10):
        (tmp_path / f"{n}.bin").write_bytes(b"x" * 100)
    counted = folder_bytes(str(tmp_path), stop_above=250)
    assert 250 < counted < 1000


def test_entry_cap_bounds_the_walk(tmp_path: Path) -> None:
    """With more entries than the cap, only the cap's worth are looked at."""
    for n in range(10):
        (tmp_path / f"{n}.bin").write_bytes(b"x" * 100)
    assert folder_bytes(str(tmp_path), max_entries=3) == 300


def test_watch_measures_when_due_only(tmp_path: Path) -> None:
    """The first check is at once; the next one MIN_CHECK_SECONDS later."""
    clock = StepClock()
    watch = FolderWatch(FolderLimit(str(tmp_path), max_bytes=100), clock=clock)
    assert watch.is_over() is False
    (tmp_path / "big.bin").write_bytes(b"x" * 101)
    clock.now += MIN_CHECK_SECONDS / 2
    assert watch.is_over() is False
    clock.now += MIN_CHECK_SECONDS / 2
    assert (watch.is_over(), watch.last_bytes) == (True, 101)
    assert MIN_CHECK_SECONDS < MAX_CHECK_SECONDS
