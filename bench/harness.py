"""Plumbing for the benchmark: workspaces, databases, worker processes, /proc.

Nothing here imports Django: the portal's side runs in subprocesses
(`portal_ops.py` and ``manage.py runworker``) against databases this module
creates and drops.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
OPS = Path(__file__).resolve().parent / "portal_ops.py"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
SCRIPT_NAME = "bench_job.py"
# The job: record the start instant under the run's id, then exit. A line
# per execution, so that a run executed twice shows as two lines.
SCRIPT_TEXT = """import os, time
started = time.time_ns()
with open(os.path.join({results!r}, os.environ["JOB_RUN_ID"]), "a") as out:
    out.write(str(started) + "\\n")
"""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
OPS_TIMEOUT = 600.0
STOP_GRACE = 10.0
WORKER_STOP_GRACE = 45.0
OPS_RETRY_SECONDS = 5.0


class BenchError(RuntimeError):
    """A benchmark step failed or ran past its deadline."""


def wait_for(check: Any, *, timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll `check()` until it returns something truthy; raise at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def sleep_until_ns(instant_ns: int) -> None:
    """Sleep until the wall clock reaches `instant_ns`."""
    remaining = (instant_ns - time.time_ns()) / 1e9
    if remaining > 0:
        time.sleep(remaining)


@dataclass
class Workspace:
    """A scratch folder: scripts dir with the job, results dir, artifacts."""

    root: Path

    def __post_init__(self) -> None:
        """Create the folders and write the job script."""
        for sub in ("scripts", "results", "artifacts"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.script.write_text(SCRIPT_TEXT.format(results=str(self.results)))

    @property
    def scripts(self) -> Path:
        """Return the scripts directory."""
        return self.root / "scripts"

    @property
    def script(self) -> Path:
        """Return the job script."""
        return self.scripts / SCRIPT_NAME

    @property
    def results(self) -> Path:
        """Return the folder where each run writes its start instant."""
        return self.root / "results"

    def argv(self) -> list[str]:
        """Return how the worker runs the script (interpreter by extension)."""
        return [PYTHON, str(self.script)]

    def result_count(self) -> int:
        """Return how many runs have recorded their start so far."""
        return sum(1 for _ in self.results.iterdir())

    def starts(self) -> dict[str, int]:
        """Return {run id: first script start in ns} for every recorded run."""
        return {run: min(times) for run, times in self.executions().items()}

    def executions(self) -> dict[str, list[int]]:
        """Return {run id: every script start in ns} (two: executed twice)."""
        found = {}
        for path in self.results.iterdir():
            times = [int(line) for line in path.read_text().split()]
            if times:
                found[path.name] = times
        return found


class Databases:
    """Fresh databases of one kind, cloned from a migrated template.

    SQLite: files in the temp dir (copied with the backup API). PostgreSQL:
    ``jobportal_bench_<pid>_<label>`` databases created from a template and
    dropped afterwards; no other database is ever touched.
    """

    def __init__(self, kind: str, tmp: Path) -> None:
        """Remember where databases go; create nothing yet."""
        if kind not in ("sqlite", "postgres"):
            raise ValueError(kind)
        self.kind = kind
        self.tmp = tmp
        self.prefix = f"jobportal_bench_{os.getpid()}"
        self.created: list[str] = []
        self.template = f"{self.prefix}_tpl"

    def url(self, name: str) -> str:
        """Return the JOB_PORTAL_DB_URL of database `name`."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.tmp / (name + '.sqlite3')}"
        return f"{PG_SERVER}/{name}"

    def make_template(self, env: dict[str, str]) -> float:
        """Create and migrate the template; return the seconds it took."""
        self._create(self.template)
        result = run_ops(
            "migrate", {}, {**env, "JOB_PORTAL_DB_URL": self.url(self.template)}
        )
        return float(result["seconds"])

    def clone(self, label: str) -> str:
        """Return the name of a fresh, migrated database for one benchmark."""
        name = f"{self.prefix}_{label}"
        if self.kind == "sqlite":
            target = self.tmp / f"{name}.sqlite3"
            source = sqlite3.connect(self.tmp / f"{self.template}.sqlite3")
            dest = sqlite3.connect(target)
            try:
                source.backup(dest)
            finally:
                source.close()
                dest.close()
            self.created.append(name)
        else:
            self._create(name, template=self.template)
        return name

    def drop(self, name: str) -> None:
        """Drop database `name` (one of ours); ignore one already gone."""
        if name not in self.created:
            raise ValueError(f"not a benchmark database: {name}")
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm", ".wakeup"):
                with contextlib.suppress(FileNotFoundError):
                    (self.tmp / f"{name}.sqlite3{suffix}").unlink()
        else:
            with pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.remove(name)

    def drop_all(self) -> None:
        """Drop every database this object created, template last."""
        for name in list(reversed(self.created)):
            try:
                self.drop(name)
            except Exception as exc:  # noqa: BLE001 - clean up the rest anyway
                print(f"warning: could not drop {name}: {exc}", file=sys.stderr)

    def _create(self, name: str, *, template: str | None = None) -> None:
        if not name.startswith(self.prefix):
            raise ValueError(name)
        if self.kind == "postgres":
            with pg_admin() as conn:
                clause = f' TEMPLATE "{template}"' if template else ""
                conn.execute(f'CREATE DATABASE "{name}"{clause}')
        self.created.append(name)


@contextlib.contextmanager
def pg_admin() -> Iterator[Any]:
    """Yield an autocommit connection to the server's maintenance database."""
    import psycopg

    conn = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=10)
    try:
        yield conn
    finally:
        conn.close()


def pg_available() -> str:
    """Return "" if the PostgreSQL server answers, else why not."""
    try:
        with pg_admin() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means: not available
        return str(exc).strip().splitlines()[0]
    return ""


def pg_backend_pids(name: str) -> list[int]:
    """Return the server process ids serving database `name`."""
    with pg_admin() as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [name]
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def pg_sessions(name: str) -> int:
    """Return how many sessions database `name` has had (PostgreSQL 14+)."""
    with pg_admin() as conn:
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else -1


_KEYS: dict[str, str] = {}


def portal_env(db_url: str, ws: Workspace) -> dict[str, str]:
    """Return the environment of the portal's processes for one benchmark.

    The caller's JOB_PORTAL_* variables are dropped, so that the worker runs
    with default settings apart from what a benchmark needs.
    """
    if not _KEYS:
        _KEYS["secret"] = secrets.token_urlsafe(48)
        _KEYS["fernet"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOB_PORTAL_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        {
            "JOB_PORTAL_DB_URL": db_url,
            "JOB_PORTAL_SCRIPTS_DIR": str(ws.scripts),
            "JOB_PORTAL_ARTIFACTS_DIR": str(ws.root / "artifacts"),
            "JOB_PORTAL_SECRET_KEY": _KEYS["secret"],
            "JOB_PORTAL_ENCRYPTION_KEY": _KEYS["fernet"],
            "JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def run_ops(
    command: str,
    args: dict[str, Any],
    env: dict[str, str],
    *,
    timeout: float = OPS_TIMEOUT,
    retries: int = 0,
) -> dict[str, Any]:
    """Run one `portal_ops.py` command; return its JSON result.

    `retries` (for commands safe to repeat) rides out a project tree that
    other engineers are editing: an import error a few seconds long.
    """
    for attempt in range(retries + 1):
        try:
            done = subprocess.run(
                [PYTHON, str(OPS), command, json.dumps(args)],
                cwd=PROJECT,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"portal_ops {command} ran past {timeout:.0f} s") from exc
        if done.returncode == 0:
            return json.loads(done.stdout.strip().splitlines()[-1])
        if attempt < retries:
            time.sleep(OPS_RETRY_SECONDS)
    tail = "\n".join(done.stderr.strip().splitlines()[-15:])
    raise BenchError(f"portal_ops {command} failed ({done.returncode}):\n{tail}")


@dataclass
class WorkerProc:
    """One ``manage.py runworker`` subprocess and its log."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        """Return what the worker has logged so far."""
        return self.log.read_text(errors="replace")

    def wait_started(self, timeout: float = 60.0) -> None:
        """Wait for the worker's start line; raise if it exits or times out."""

        def started() -> bool:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"worker {self.name} exited with {self.proc.returncode}:\n"
                    + self.log_text()[-2000:]
                )
            return f"Worker {self.name} started" in self.log_text()

        wait_for(started, timeout=timeout, what=f"worker {self.name} to start")


class OpsProcess:
    """A long-lived `portal_ops.py` command, talked to in JSON lines."""

    def __init__(
        self, command: str, args: dict[str, Any], env: dict[str, str], log: Path
    ) -> None:
        """Start the command; its stderr goes to `log`."""
        self.command = command
        self.log = log
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [PYTHON, str(OPS), command, json.dumps(args)],
                cwd=PROJECT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
            )
        self._buffer = b""

    def send(self, message: dict[str, Any]) -> None:
        """Write one JSON line to the command."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def read(self, timeout: float) -> dict[str, Any]:
        """Return the next JSON line the command prints, within `timeout`."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(
                    f"portal_ops {self.command}: no answer in {timeout:.0f} s"
                )
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    tail = self.log.read_text(errors="replace")[-1500:]
                    raise BenchError(f"portal_ops {self.command} ended:\n{tail}")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Make sure the command has ended."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=grace)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


@dataclass
class Processes:
    """Every process started, so that all are stopped even on failure."""

    workers: list[WorkerProc] = field(default_factory=list)
    ops: list[OpsProcess] = field(default_factory=list)

    def start(self, env: dict[str, str], logs: Path, name: str) -> WorkerProc:
        """Start ``manage.py runworker --name NAME`` with default settings.

        System checks are skipped, as the project's own worker tests do:
        they have tests of their own and do not change what is measured.
        """
        log = logs / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [PYTHON, "manage.py", "runworker", "--skip-checks", "--name", name],
                cwd=PROJECT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = WorkerProc(name, proc, log)
        self.workers.append(worker)
        return worker

    def start_ops(
        self, command: str, args: dict[str, Any], env: dict[str, str], log: Path
    ) -> OpsProcess:
        """Start a long-lived `portal_ops.py` command."""
        ops = OpsProcess(command, args, env, log)
        self.ops.append(ops)
        return ops

    def stop(self, worker: WorkerProc, grace: float = WORKER_STOP_GRACE) -> int | None:
        """SIGTERM the worker, SIGKILL it after `grace`; return its exit code.

        The grace exceeds the worker's own shutdown grace (30 s by default).
        """
        proc = worker.proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                print(f"warning: worker {worker.name} ignored SIGTERM; killing it")
                proc.kill()
                proc.wait(timeout=grace)
        if worker in self.workers:
            self.workers.remove(worker)
        return proc.returncode

    def stop_all(self) -> None:
        """Stop every process still known (cleanup path)."""
        for ops in list(self.ops):
            ops.stop()
            self.ops.remove(ops)
        for worker in list(self.workers):
            try:
                self.stop(worker, grace=STOP_GRACE)
            except Exception as exc:  # noqa: BLE001 - stop the others anyway
                print(f"warning: could not stop {worker.name}: {exc}", file=sys.stderr)


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """Return the user+system CPU time of process `pid` (all its threads).

    With `children`, return that of its reaped children instead.
    """
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # After the name, state is field 3: utime (14) and stime (15) are at 11
    # and 12, cutime (16) and cstime (17) at 13 and 14.
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / CLOCK_TICKS


# The worker's fork server (jobs.supervisor.forkserver): its own CPU is
# the worker's, its reaped children's (supervisors, with their scripts)
# the scripts'.
FORKSERVER_NAME = "jobs-forkserver"


def worker_cpu_seconds(pid: int, *, children: bool = False) -> float:
    """Return `cpu_seconds` of worker `pid` plus that of its fork server.

    Spares are forked by the fork server, a child of the worker: their CPU,
    and their scripts', is the server's children's, not the worker's.
    """
    total = cpu_seconds(pid, children=children)
    for helper in _children_named(pid, FORKSERVER_NAME):
        try:
            total += cpu_seconds(helper, children=children)
        except OSError:
            continue  # ended meanwhile
    return total


def _children_named(pid: int, name: str) -> list[int]:
    """Return the pids of `pid`'s live children called `name` (comm)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            try:
                comm = Path(f"/proc/{kid}/comm").read_text().strip()
            except OSError:
                continue
            if comm == name:
                found.append(int(kid))
    return found


def memory_kb(pid: int) -> dict[str, int]:
    """Return Pss and Rss (kB) of process `pid` from smaps_rollup."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Pss", "Rss"):
            values[key] = int(rest.split()[0])
    return values
