"""Example job (template "File cleanup"): delete old files in one folder.

Usage: file_cleanup.py FOLDER DAYS [PATTERN] [--dry-run]

Deletes the regular files directly in FOLDER (not in sub-folders, never
following symlinks) matching PATTERN (default "*") last modified more than
DAYS days ago. --dry-run lists them without deleting. Exit 0 on success, 1
with a message when FOLDER is not a folder or DAYS not a number.
"""

import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    """Find, delete (unless a dry run), report."""
    dry_run = "--dry-run" in argv
    argv = [arg for arg in argv if arg != "--dry-run"]
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 1
    folder = Path(argv[0])
    try:
        days = float(argv[1])
    except ValueError:
        print(f"DAYS must be a number; got {argv[1]!r}", file=sys.stderr)
        return 1
    pattern = argv[2] if len(argv) == 3 else "*"
    if not folder.is_dir():
        print(f"Not a folder: {folder}", file=sys.stderr)
        return 1
    cutoff = time.time() - days * 86400
    removed = 0
    for path in sorted(folder.glob(pattern)):
        if path.is_symlink() or not path.is_file() or path.stat().st_mtime >= cutoff:
            continue
        if not dry_run:
            path.unlink()
        removed += 1
        print(f"{'would remove' if dry_run else 'removed'} {path}", flush=True)
    print(f"{removed} file(s) older than {days:g} day(s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
