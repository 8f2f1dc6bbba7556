"""Resolve a job's script path safely inside the scripts directory.

Pure Python. The same function runs when a job is saved and again right
before a run, because the file system can change in between.
"""

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from jobs.errors import JobsError

MSG_EMPTY = "Give a path relative to the scripts directory."
MSG_ABSOLUTE = "Use a path relative to the scripts directory, not {path!r}."
MSG_OUTSIDE = "{path!r} resolves outside the scripts directory."
MSG_MISSING = "{path!r} does not exist in the scripts directory."
MSG_NOT_FILE = "{path!r} is not a regular file."
MSG_NOT_DIR = "{path!r} is not a directory."
MSG_EXTENSION = "{path!r} does not have an allowed extension ({allowed})."
MSG_NUL = "A path cannot contain a NUL character."


class ScriptPathError(JobsError, ValueError):
    """A script or working-directory path is unsafe or unusable."""


def resolve_script(
    scripts_dir: str | os.PathLike[str],
    relative: str,
    *,
    allowed_extensions: Iterable[str] = (),
    directory: bool = False,
) -> Path:
    """Return the real path of `relative` inside `scripts_dir`, or raise.

    Symlinks and ``..`` are resolved first, so neither can escape. With
    `directory`, the path must be a directory; otherwise a regular file whose
    extension is one of `allowed_extensions`.
    """
    if not relative or not relative.strip():
        raise ScriptPathError(MSG_EMPTY)
    if "\0" in relative:
        raise ScriptPathError(MSG_NUL)
    if os.path.isabs(relative):
        raise ScriptPathError(MSG_ABSOLUTE.format(path=relative))
    root = Path(scripts_dir).resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise ScriptPathError(MSG_OUTSIDE.format(path=relative))
    try:
        mode = target.stat().st_mode
    except OSError:
        raise ScriptPathError(MSG_MISSING.format(path=relative)) from None
    if directory:
        if not stat.S_ISDIR(mode):
            raise ScriptPathError(MSG_NOT_DIR.format(path=relative))
        return target
    if not stat.S_ISREG(mode):
        raise ScriptPathError(MSG_NOT_FILE.format(path=relative))
    allowed = tuple(ext.lower() for ext in allowed_extensions)
    if target.suffix.lower() not in allowed:
        raise ScriptPathError(
            MSG_EXTENSION.format(path=relative, allowed=", ".join(allowed))
        )
    return target
