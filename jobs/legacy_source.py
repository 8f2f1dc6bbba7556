"""Read a legacy portal database: a SQLite file or a database URL.

SQLite files are opened read-only (a `mode=ro` URI), PostgreSQL through
psycopg in a read-only session. Rows come back as dicts keyed by column
name (never by position: columns added by hand sit at the end), and logs
are read in batches with `fetchmany`, so a database of megabyte outputs is
never loaded whole.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

from jobs.legacy_mapping import DISPATCH_TABLE

MSG_NO_FILE = "Cannot open {source}: no such file."
MSG_OPEN = "Cannot open {source}: {problem}"
MSG_SCHEME = (
    "Cannot open {source}: only SQLite files and sqlite:// or postgres:// "
    "URLs are supported."
)
MSG_NO_PSYCOPG = (
    "Cannot open {source}: reading PostgreSQL needs psycopg "
    "(pip install 'job-trigger-portal[postgres]')."
)
BATCH_SIZE = 50
SELECT_JOBS = "SELECT * FROM scheduled_jobs ORDER BY id"
SELECT_LOGS = "SELECT * FROM job_execution_logs ORDER BY id"
COUNT_IN_FLIGHT = (
    "SELECT COUNT(*) FROM job_dispatch WHERE UPPER(TRIM(status)) IN ({marks})"
)
IN_FLIGHT = ("PENDING", "IN_PROGRESS")


class LegacySourceError(Exception):
    """The legacy database cannot be opened or read."""


class LegacySource:
    """A read-only connection to a legacy database (DB-API 2 underneath)."""

    def __init__(
        self,
        connection: Any,
        *,
        kind: str,
        label: str,
        errors: tuple[type[Exception], ...],
    ) -> None:
        self.connection = connection
        self.kind = kind
        self.label = label
        self.errors = errors

    def __enter__(self) -> LegacySource:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.connection.close()

    def tables(self) -> list[str]:
        """Return the names of the tables, sorted."""
        if self.kind == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        else:
            sql = (
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() ORDER BY table_name"
            )
        return [row[0] for row in self._all(sql)]

    def columns(self, table: str) -> list[str]:
        """Return the columns of `table` in their stored order."""
        if self.kind == "sqlite":
            return [row[1] for row in self._all(f'PRAGMA table_info("{table}")')]
        sql = (
            "SELECT column_name FROM information_schema.columns WHERE "
            "table_schema = current_schema() AND table_name = %s "
            "ORDER BY ordinal_position"
        )
        return [row[0] for row in self._all(sql, (table,))]

    def jobs(self) -> list[dict[str, Any]]:
        """Return every legacy job row, by id (jobs are few and small)."""
        cursor = self._execute(SELECT_JOBS)
        names = [d[0].lower() for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def logs(self, *, batch_size: int = BATCH_SIZE) -> Iterator[list[dict[str, Any]]]:
        """Yield the log rows by id, `batch_size` at a time."""
        if self.kind == "postgres":
            # A server-side cursor: the server holds the result, not us.
            cursor = self.connection.cursor(name="legacy_logs")
            cursor.execute(SELECT_LOGS)
        else:
            cursor = self._execute(SELECT_LOGS)
        names: list[str] | None = None
        while True:
            rows = cursor.fetchmany(batch_size)
            if names is None and cursor.description is not None:
                names = [d[0].lower() for d in cursor.description]
            if not rows or names is None:
                break
            yield [dict(zip(names, row, strict=True)) for row in rows]
        cursor.close()

    def dispatch_in_flight(self) -> int:
        """Return how many v3 dispatches were pending or in progress."""
        if DISPATCH_TABLE not in self.tables():
            return 0
        marks = "?, ?" if self.kind == "sqlite" else "%s, %s"
        sql = COUNT_IN_FLIGHT.format(marks=marks)
        return int(self._all(sql, IN_FLIGHT)[0][0])

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        try:
            cursor = self.connection.cursor()
            cursor.execute(sql, params)
        except self.errors as exc:
            raise LegacySourceError(
                MSG_OPEN.format(source=self.label, problem=exc)
            ) from None
        return cursor

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return list(self._execute(sql, params).fetchall())


def source_open(source: str) -> LegacySource:
    """Open `source` (a file path or a database URL) read-only."""
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("postgres", "postgresql"):
        return _postgres_open(source)
    if scheme == "sqlite":
        path = source.split(":///", 1)[1] if ":///" in source else ""
        return _sqlite_open(path, label=source)
    if "://" in source:
        raise LegacySourceError(MSG_SCHEME.format(source=source))
    return _sqlite_open(source, label=source)


def _sqlite_open(path: str, *, label: str) -> LegacySource:
    if not path or not Path(path).is_file():
        raise LegacySourceError(MSG_NO_FILE.format(source=label))
    uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
        connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchall()
    except sqlite3.Error as exc:
        raise LegacySourceError(MSG_OPEN.format(source=label, problem=exc)) from None
    return LegacySource(connection, kind="sqlite", label=label, errors=(sqlite3.Error,))


def _postgres_open(url: str) -> LegacySource:
    label = _without_password(url)
    try:
        import psycopg  # optional dependency: only PostgreSQL sources need it
    except ImportError:
        raise LegacySourceError(MSG_NO_PSYCOPG.format(source=label)) from None
    try:
        connection = psycopg.connect(url)
        connection.read_only = True
    except psycopg.Error as exc:
        raise LegacySourceError(MSG_OPEN.format(source=label, problem=exc)) from None
    return LegacySource(
        connection, kind="postgres", label=label, errors=(psycopg.Error,)
    )


def _without_password(url: str) -> str:
    """Return `url` with its password, if any, replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
