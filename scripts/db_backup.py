"""Example job (template "Database backup"): copy a SQLite database safely.

Usage: db_backup.py DATABASE DESTINATION [KEEP]

Copies DATABASE with SQLite's online backup API (consistent even while
another process writes) to DESTINATION/<stem>-<UTC time>.sqlite3, then keeps
only the KEEP newest backups of that database there (default 7). Exit 0 on
success, 1 with a message when the database or the folder is unusable.
"""

import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path


def main(argv: list[str]) -> int:
    """Back up, prune, report."""
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 1
    source, destination = Path(argv[0]), Path(argv[1])
    keep = int(argv[2]) if len(argv) == 3 else 7
    if not source.is_file():
        print(f"No database file at {source}", file=sys.stderr)
        return 1
    destination.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = destination / f"{source.stem}-{stamp}.sqlite3"
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    print(f"backed up {source} to {target}", flush=True)
    backups = sorted(destination.glob(f"{source.stem}-*.sqlite3"))
    for old in backups[: max(len(backups) - keep, 0)]:
        old.unlink()
        print(f"removed old backup {old}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
