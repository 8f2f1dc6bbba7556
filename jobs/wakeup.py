"""Wake waiting workers at once when due work changes.

A worker sleeps until the earliest `next_run_at` or its poll interval. When a
job is created or edited, or a run is queued or cancelled from the admin or
the API, the service calls `wakeup_notify()`; once the transaction commits,
every waiting worker wakes at once instead of at its next poll.

* PostgreSQL: ``NOTIFY`` on `CHANNEL`; each worker ``LISTEN``s on a dedicated
  connection whose socket it waits on (``select``), so a notification wakes
  it immediately and an idle worker does not poll.
* SQLite (one host by nature): the notifier stamps the modification time of
  a file next to the database. On Linux the waiter watches that file with
  inotify, so a stamp wakes it at once and an idle worker does not poll;
  elsewhere it compares the stamp every `tick_seconds` (0.2 s), a stat.

Inside the worker, its own threads (and a stop request) wake the loop
through a `Doorbell`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import select
import struct
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

logger = logging.getLogger(__name__)

CHANNEL = "job_portal_wakeup"
WAKEUP_SUFFIX = ".wakeup"
# After the listening connection fails, try again this much later.
RECONNECT_SECONDS = 5.0
# How often a waiter without a socket to wait on looks for a wakeup.
FILE_TICK_SECONDS = 0.2
# How often a waiter without any channel looks (it can only poll).
NULL_TICK_SECONDS = 0.5
# inotify events that mean the wakeup file was stamped, or replaced.
_IN_ATTRIB, _IN_CLOSE_WRITE = 0x4, 0x8
_IN_DELETE_SELF, _IN_MOVE_SELF, _IN_IGNORED = 0x400, 0x800, 0x8000
_IN_NONBLOCK, _IN_CLOEXEC = 0o4000, 0o2000000
_WATCH_MASK = _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_DELETE_SELF | _IN_MOVE_SELF
# Django-only options of the PostgreSQL backend; libpq would refuse them.
_DJANGO_PG_OPTIONS = frozenset(
    {
        "assume_role",
        "context",
        "cursor_factory",
        "isolation_level",
        "pool",
        "server_side_binding",
    }
)


class Waiter(Protocol):
    """Tell a waiting worker whether anyone asked it to wake up.

    `tick_seconds` is how often the worker must call `poll` even without
    activity on `fileno()`; None when the descriptor alone wakes it.
    """

    # Read-only: waiters compute it or keep it as a class constant.
    @property
    def tick_seconds(self) -> float | None: ...

    def poll(self) -> bool:
        """Return True if a wakeup arrived since the last poll; never block."""
        ...

    def fileno(self) -> int | None:
        """Return a descriptor that turns readable on a wakeup, if any."""
        ...

    def close(self) -> None:
        """Release what the waiter holds."""
        ...


def wakeup_notify(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Wake every waiting worker once the current transaction commits."""
    transaction.on_commit(partial(_send, using), using=using)


def wakeup_file(settings_dict: dict[str, Any]) -> Path | None:
    """Return the wakeup file of a SQLite database, or None if in memory."""
    name = str(settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).with_name(Path(name).name + WAKEUP_SUFFIX)


def make_waiter(*, using: str = DEFAULT_DB_ALIAS) -> Waiter:
    """Return the waiter that suits the database behind `using`."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        return PostgresWaiter(connection.settings_dict)
    path = wakeup_file(connection.settings_dict)
    if connection.vendor == "sqlite" and path is not None:
        return FileWaiter(path)
    return NullWaiter()


def _send(using: str) -> None:
    """Send the wakeup now (after commit); a failure only costs promptness."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
        except DatabaseError as exc:
            logger.warning("Could not notify workers: %s", exc)
        return
    path = wakeup_file(connection.settings_dict)
    if connection.vendor != "sqlite" or path is None:
        return
    # An explicit nanosecond stamp, because the file system's own clock may
    # tick coarsely enough for two touches to leave the same time.
    stamp = time.time_ns()
    try:
        path.touch(exist_ok=True)
        os.utime(path, ns=(stamp, stamp))
    except OSError as exc:
        logger.warning("Could not touch the wakeup file %s: %s", path, exc)


class Doorbell:
    """A self-pipe: any thread rings it; the loop waits for it with select."""

    def __init__(self) -> None:
        """Open the pipe (both ends non-blocking)."""
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def ring(self) -> None:
        """Wake the waiting loop (a full pipe already will)."""
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._write, b"\0")

    def fileno(self) -> int:
        """Return the end to wait on."""
        return self._read

    def answer(self) -> bool:
        """Return True if the bell rang since the last answer."""
        rang = False
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read, 4096):
                rang = True
        return rang

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` for a ring; return True if it rang."""
        select.select([self._read], [], [], max(seconds, 0))
        return self.answer()

    def close(self) -> None:
        """Close both ends, once."""
        if self._read < 0:
            return
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._read = self._write = -1


class NullWaiter:
    """A waiter for databases with no wakeup channel: workers poll."""

    tick_seconds = NULL_TICK_SECONDS

    def poll(self) -> bool:
        """Return False: nobody can wake this worker early."""
        return False

    def fileno(self) -> int | None:
        """Return None: there is nothing to wait on."""
        return None

    def close(self) -> None:
        """Hold nothing."""


class FileWaiter:
    """Watch the modification time of the SQLite database's wakeup file.

    With inotify (Linux) the file's changes make `fileno()` readable; without
    it the worker polls every `tick_seconds`.
    """

    def __init__(self, path: Path) -> None:
        """Remember the file's current stamp and start watching it."""
        self.path = path
        self._inotify: Inotify | None = None
        with contextlib.suppress(OSError):
            # The file must exist to be watched; creating it wakes nobody.
            path.touch(exist_ok=True)
            self._inotify = Inotify.open()
            if self._inotify is not None:
                self._inotify.watch(path)
        if self._inotify is not None and not self._inotify.is_watching:
            self.close()
        self._stamp = self._read()

    @property
    def tick_seconds(self) -> float | None:
        """Return None while inotify watches the file, else the poll period."""
        return None if self._inotify is not None else FILE_TICK_SECONDS

    def poll(self) -> bool:
        """Return True if the file was stamped since the last poll."""
        if self._inotify is not None and self._inotify.drain():
            # Replaced or deleted: watch whatever has the name now.
            with contextlib.suppress(OSError):
                self.path.touch(exist_ok=True)
                self._inotify.watch(self.path)
        stamp = self._read()
        changed = stamp != self._stamp
        self._stamp = stamp
        return changed

    def fileno(self) -> int | None:
        """Return the inotify descriptor, or None when polling."""
        return None if self._inotify is None else self._inotify.fd

    def close(self) -> None:
        """Stop watching."""
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None

    def _read(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None


class Inotify:
    """The few inotify calls a `FileWaiter` needs (Linux, through libc)."""

    def __init__(self, fd: int, libc: Any) -> None:
        """Wrap an inotify descriptor."""
        self.fd = fd
        self._libc = libc
        self.is_watching = False

    @classmethod
    def open(cls) -> Inotify | None:
        """Return a new non-blocking inotify instance, or None if unavailable."""
        if not sys.platform.startswith("linux"):
            return None
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        return cls(fd, libc) if fd >= 0 else None

    def watch(self, path: Path) -> None:
        """Watch `path` for stamps, writes, deletion and renames."""
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(path), _WATCH_MASK)
        self.is_watching = wd >= 0

    def drain(self) -> bool:
        """Read pending events; return True if the watched file went away."""
        gone = False
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while data := os.read(self.fd, 4096):
                offset = 0
                while offset + 16 <= len(data):
                    _, mask, _, size = struct.unpack_from("iIII", data, offset)
                    gone = gone or bool(
                        mask & (_IN_DELETE_SELF | _IN_MOVE_SELF | _IN_IGNORED)
                    )
                    offset += 16 + size
        return gone

    def close(self) -> None:
        """Close the descriptor."""
        with contextlib.suppress(OSError):
            os.close(self.fd)


class PostgresWaiter:
    """LISTEN on `CHANNEL` over a dedicated autocommit connection."""

    def __init__(self, settings_dict: dict[str, Any]) -> None:
        """Connect lazily, on the first poll."""
        self._settings = settings_dict
        self._conn: Any = None
        self._retry_at = 0.0

    def poll(self) -> bool:
        """Return True if a notification arrived since the last poll."""
        import psycopg  # only installed where PostgreSQL is used

        conn = self._connection()
        if conn is None:
            return False
        try:
            return any(True for _ in conn.notifies(timeout=0))
        except psycopg.Error as exc:
            logger.warning("Lost the wakeup connection: %s", exc)
            self.close()
            self._retry_at = time.monotonic() + RECONNECT_SECONDS
            # Notifications may have been missed meanwhile: look once.
            return True

    @property
    def tick_seconds(self) -> float | None:
        """Return None while connected (the socket wakes), else when to retry."""
        return None if self._conn is not None else RECONNECT_SECONDS

    def fileno(self) -> int | None:
        """Return the listening connection's socket, once connected."""
        return None if self._conn is None else int(self._conn.fileno())

    def close(self) -> None:
        """Close the listening connection."""
        import psycopg

        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                logger.debug("Closing the wakeup connection failed", exc_info=True)
            self._conn = None

    def _connection(self) -> Any:
        import psycopg

        if self._conn is not None:
            return self._conn
        if time.monotonic() < self._retry_at:
            return None
        try:
            conn = psycopg.connect(**self._params(), autocommit=True)
            conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            logger.warning("Cannot listen for wakeups (will poll): %s", exc)
            self._retry_at = time.monotonic() + RECONNECT_SECONDS
            return None
        self._conn = conn
        return conn

    def _params(self) -> dict[str, Any]:
        settings = self._settings
        params: dict[str, Any] = {
            key: value
            for key, value in (settings.get("OPTIONS") or {}).items()
            if key not in _DJANGO_PG_OPTIONS and isinstance(value, str | int)
        }
        for key, name in (
            ("dbname", "NAME"),
            ("user", "USER"),
            ("password", "PASSWORD"),
            ("host", "HOST"),
            ("port", "PORT"),
        ):
            if settings.get(name):
                params[key] = str(settings[name])
        params.setdefault("connect_timeout", 5)
        return params
