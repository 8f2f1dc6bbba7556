"""Hashing, reading and diffing script files."""

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

from jobs import script_content


def test_read_and_stat_agree_on_hash_size_and_time(tmp_path: Path) -> None:
    """Both give the SHA-256 of the bytes, their size and the mtime in UTC."""
    path = tmp_path / "job.py"
    path.write_bytes(b"print('hi')\n")
    os.utime(path, (1_800_000_000, 1_800_000_000))
    read = script_content.read_script(path)
    stat = script_content.stat_script(path)
    expected = hashlib.sha256(b"print('hi')\n").hexdigest()
    assert (read.sha256, read.size_bytes, read.content) == (
        expected,
        12,
        b"print('hi')\n",
    )
    assert (stat.sha256, stat.size_bytes, stat.modified_at) == (
        expected,
        12,
        datetime.fromtimestamp(1_800_000_000, tz=UTC),
    )


def test_undecodable_bytes_are_replaced_not_fatal() -> None:
    """Latin-1 bytes show as replacement characters."""
    assert script_content.decode_text(b"caf\xe9\n") == "caf\ufffd\n"


def test_numbered_lines_start_at_one() -> None:
    """Line numbers for the admin's content view."""
    assert script_content.numbered_lines("a\nb\n") == [(1, "a"), (2, "b")]


def test_unified_diff_shows_the_change_with_labels() -> None:
    """A changed line gives -old/+new under the two labels; equal texts none."""
    diff = script_content.unified_diff(
        "a\nb\nc\n", "a\nB\nc\n", old_label="approved", new_label="current"
    )
    assert diff == [
        "--- approved",
        "+++ current",
        "@@ -1,3 +1,3 @@",
        " a",
        "-b",
        "+B",
        " c",
    ]
    assert script_content.unified_diff("x\n", "x\n", old_label="a", new_label="b") == []
