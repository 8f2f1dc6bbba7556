"""A throwaway PostgreSQL cluster of the benchmark's own, to restart for real.

Nothing here imports Django. `own_cluster` runs ``initdb`` into a temp folder
as the ``postgres`` OS user (through ``runuser`` when this process is root),
starts the server on 127.0.0.1 at a free port with trust authentication and
fsync off, creates one database, and stops the server and deletes the folder
on the way out (also on Ctrl-C). `Cluster.restart` restarts it with
``pg_ctl restart``: every connection of every client breaks, as in a real
outage, without touching the shared server on port 5432.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/usr/local/bin")
OS_USER = "postgres"
START_SECONDS = 60


def find_bin() -> Path:
    """Return the folder holding initdb and pg_ctl (the newest version)."""
    for pattern in BIN_GLOBS:
        found = sorted(
            Path("/").glob(pattern.lstrip("/")),
            key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()],
        )
        for folder in reversed(found):
            if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
                return folder
    raise SystemExit("No PostgreSQL server binaries (initdb, pg_ctl) found.")


def free_port(preferred: int = 55432) -> int:
    """Return `preferred` if nothing listens there, else a free port."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise SystemExit("No free TCP port on 127.0.0.1.")


@dataclass
class Cluster:
    """A running cluster: where it lives and how to reach it."""

    bin: Path
    data: Path
    port: int
    database: str

    @property
    def url(self) -> str:
        """Return the database URL for JOB_PORTAL_DB_URL."""
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def pg_ctl(self, *args: str) -> None:
        """Run pg_ctl on this cluster as the postgres user; raise on failure."""
        log = self.data.parent / "server.log"
        argv = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(log)]
        subprocess.run(
            [*_as_postgres(), *argv, "-w", "-t", str(START_SECONDS), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=START_SECONDS + 10,
        )

    def restart(self, mode: str = "fast") -> float:
        """Restart the server (`mode`: fast or immediate); return the seconds."""
        started = time.monotonic()
        self.pg_ctl("restart", "-m", mode)
        return time.monotonic() - started


def _as_postgres() -> list[str]:
    """Return the argv prefix that runs a command as the postgres OS user."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", OS_USER, "--"]


@contextlib.contextmanager
def own_cluster(database: str, port: int = 55432) -> Iterator[Cluster]:
    """Create, start and yield a cluster with `database`; remove it after."""
    folder = Path(tempfile.mkdtemp(prefix="fault-pg-"))
    data = folder / "data"
    cluster = Cluster(bin=find_bin(), data=data, port=free_port(port), database="")
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(folder, user=OS_USER)
        subprocess.run(
            [
                *_as_postgres(),
                str(cluster.bin / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=120,
        )
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {cluster.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{folder}'\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 200\n"
            )
        cluster.pg_ctl("start")
        started = True
        subprocess.run(
            [
                *_as_postgres(),
                str(cluster.bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(cluster.port),
                "-U",
                "postgres",
                "-qc",
                f'CREATE DATABASE "{database}"',
            ],
            check=True,
            timeout=60,
        )
        cluster.database = database
        yield cluster
    finally:
        if started:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                cluster.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(folder, ignore_errors=True)
