"""Read, hash and compare script files: what the approval of a script pins.

Pure Python. A script is approved by the SHA-256 of its bytes; the admin
shows its text (undecodable bytes replaced) and a unified diff against the
text that was last approved.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_CHUNK = 1 << 16


@dataclass(frozen=True)
class ScriptFile:
    """What a script file held when it was read."""

    sha256: str
    size_bytes: int
    modified_at: datetime
    content: bytes


@dataclass(frozen=True)
class ScriptStat:
    """A script file's hash, size and modification time, without its content."""

    sha256: str
    size_bytes: int
    modified_at: datetime


def sha256_bytes(data: bytes) -> str:
    """Return the hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def read_script(path: Path) -> ScriptFile:
    """Return the content, hash, size and modification time of the file `path`.

    The hash is of exactly the bytes returned. Raise `OSError` if the file
    cannot be read.
    """
    with path.open("rb") as handle:
        info = os.fstat(handle.fileno())
        content = handle.read()
    return ScriptFile(
        sha256=sha256_bytes(content),
        size_bytes=len(content),
        modified_at=datetime.fromtimestamp(info.st_mtime, tz=UTC),
        content=content,
    )


def stat_script(path: Path) -> ScriptStat:
    """Return the hash, size and modification time of `path`, reading in chunks.

    Raise `OSError` if the file cannot be read.
    """
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        info = os.fstat(handle.fileno())
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return ScriptStat(
        sha256=digest.hexdigest(),
        size_bytes=size,
        modified_at=datetime.fromtimestamp(info.st_mtime, tz=UTC),
    )


def decode_text(content: bytes) -> str:
    """Return `content` as text, undecodable bytes replaced."""
    return content.decode("utf-8", errors="replace")


def numbered_lines(text: str) -> list[tuple[int, str]]:
    """Return (line number from 1, line without its ending) for each line."""
    return list(enumerate(text.splitlines(), start=1))


def unified_diff(
    old: str, new: str, *, old_label: str, new_label: str, context: int = 3
) -> list[str]:
    """Return the unified diff from `old` to `new` as lines without endings.

    Empty when the texts are equal.
    """
    return list(
        difflib.unified_diff(
            old.splitlines(),
            new.splitlines(),
            fromfile=old_label,
            tofile=new_label,
            n=context,
            lineterm="",
        )
    )
