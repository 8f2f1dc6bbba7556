"""Fault run (issue 13): four workers, random faults, and what the scripts saw.

Starts four ``runworker`` processes on a PostgreSQL database, runs jobs every
two seconds whose script records each of its own executions (start and end,
with its slot and attempt) in a file, and for ``--seconds`` injects at random:
``kill -9`` of a worker (restarted a second later), SIGTERM (restarted once
it exits), SIGSTOP for longer than the lost-after threshold then SIGCONT.
Database faults: with ``--own-server`` (the documented way), the run gets a
PostgreSQL cluster of its own (``bench/pg_cluster.py``: initdb into a temp
folder as the postgres OS user, 127.0.0.1 on a free port, from 55432, trust
auth, fsync off), restarts it for real twice, at a third (``pg_ctl restart
-m fast``) and at two thirds (``-m immediate``, a crash) of the run, each
50 ms after a slot's instant, when runs are being claimed, read back,
checked and started, and halfway ends every connection with
``pg_terminate_backend``; the cluster is removed at the end (also on
Ctrl-C or SIGTERM). Without it, on the database ``JOB_PORTAL_DB_URL``
names, only ``pg_terminate_backend``, twice (a restart would hit every
database of a shared server).
Then it stops the faults, lets the workers settle for a while, stops them,
lets four fresh workers finish the backlog, stops them and counts:

* missed: slots between a job's first and last recorded slot with no row;
* duplicated: slots with two succeeded runs;
* double-executed: slots whose script ran while another execution of the
  same slot was still alive (an flock per slot tells), and, apart, slots
  executed twice one after the other (a retry after a crash: the documented
  at-least-once), with those whose earlier execution had ended on its own;
* stuck: runs still running, or queued and due, after the settling (four
  fresh workers, until nothing is left or for 90 s at most);
* failed without running: failed runs whose attempt never started a script;
* leftover processes: processes of the run scripts alive at the end;
* other_ends: every run not succeeded, by (status, reason code, exit code).

The JSON also gives the faults injected per kind, the wall time and the
load average at start and end. Run (about 5 minutes for 240 s; 13 jobs give
about 1,500 slots):

    .venv/bin/python bench/fault_run.py --own-server --seconds 240 --jobs 13

or, on a database of your own (it empties its jobs tables):

    JOB_PORTAL_DB_URL=postgres://postgres@127.0.0.1:5432/jobportal_exec \\
        .venv/bin/python bench/fault_run.py --seconds 120
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobportal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Min, Q  # noqa: E402
from pg_cluster import Cluster, own_cluster  # noqa: E402

from jobportal import clock  # noqa: E402
from jobs.models import Job, JobRun, RunEvent, Worker  # noqa: E402
from jobs.services.jobs import job_save  # noqa: E402

WORKERS = 4
CONCURRENCY = ("--concurrency", "3")
LOST_AFTER = 6
INTERVAL = 2
# The longest the settling workers get to finish the backlog.
SETTLE_SECONDS = 90
# The own cluster (--own-server), handed to the re-run of this script.
CLUSTER_ENV = "FAULT_RUN_CLUSTER"
# Real restarts land this long after a slot's instant: runs are then being
# claimed, read back, checked and started.
RESTART_AFTER_SLOT_SECONDS = 0.05
# Each execution holds an exclusive lock on its slot's file while it runs
# (the kernel drops it when the process dies, however it dies): finding it
# taken means another execution of the same slot is running at this moment.
OVERLAPS: set[tuple[str, str]] = set()
SCRIPT = """\
import fcntl, os, random, time
slot = os.environ["JOB_NAME"] + " " + os.environ["JOB_SCHEDULED_FOR"]
line = " ".join([slot, os.environ["JOB_ATTEMPT"], str(os.getpid())])
log = os.environ["FAULT_LOG"]
def note(kind):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, f"{kind} {line} {time.time():.6f}\\n".encode())
    os.close(fd)
lock = os.open(log + "." + slot.replace(" ", "_"), os.O_RDWR | os.O_CREAT, 0o644)
try:
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    note("overlap")
note("start")
time.sleep(random.uniform(0.2, 3.0))
note("end")
"""


def log(message: str) -> None:
    """Progress on stderr."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


class Fleet:
    """The worker processes, by name."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.stopped: set[str] = set()

    def start(self, name: str) -> None:
        out = (self.folder / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "manage.py", "runworker", "--name", name, *CONCURRENCY],
            cwd=BASE_DIR,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def signal(self, name: str, signum: int) -> None:
        self.procs[name].send_signal(signum)

    def stop_all(self) -> None:
        for name, proc in self.procs.items():
            if name in self.stopped:
                proc.send_signal(signal.SIGCONT)
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def terminate_connections() -> int:
    """End every other connection to this database (as a restart would)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def setup(scripts: Path, jobs: int) -> None:
    """Empty the jobs tables and create the jobs."""
    call_command("migrate", verbosity=0)
    RunEvent.objects.all().delete()
    JobRun.objects.all().delete()
    Job.objects.all().delete()
    Worker.objects.all().delete()
    (scripts / "rec.py").write_text(SCRIPT)
    now = clock.now()
    for i in range(jobs):
        strict = i % 2 == 0
        job = Job(
            name=f"fault-{i:02d}",
            script="rec.py",
            timezone="UTC",
            concurrency_policy="forbid" if strict else "allow",
            max_concurrent=1 if strict else 2,
            retry_max_attempts=3,
            retry_on_lost=True,
            retry_delay_seconds=0,
            timeout_seconds=30,
        )
        job_save(
            job=job, schedules=[{"type": "interval", "seconds": INTERVAL}], now=now
        )


def db_faults(seconds: float, cluster: Cluster | None) -> list[tuple[float, str]]:
    """Return when (monotonic) to hit the database, and how.

    With an own cluster: two real restarts (a fast one, then an immediate
    one, like a crash) at a third and two thirds of the run, and a
    `pg_terminate_backend` of every connection halfway. Without: that
    termination at a third and two thirds.
    """
    start = time.monotonic()
    if cluster is None:
        return [
            (start + seconds / 3, "db_terminate"),
            (start + seconds * 2 / 3, "db_terminate"),
        ]
    return [
        (start + seconds / 3, "db_restart_fast"),
        (start + seconds / 2, "db_terminate"),
        (start + seconds * 2 / 3, "db_restart_immediate"),
    ]


def hit_database(kind: str, cluster: Cluster | None) -> None:
    """Restart the database (at a busy instant) or end its connections."""
    if kind == "db_terminate":
        log(f"terminated {terminate_connections()} connections")
        return
    assert cluster is not None
    # Just after a slot's instant, when runs are between claim and start.
    next_at = Job.objects.filter(is_active=True).aggregate(at=Min("next_run_at"))["at"]
    connection.close()
    if next_at is not None:
        pause = next_at.timestamp() + RESTART_AFTER_SLOT_SECONDS - time.time()
        time.sleep(min(max(pause, 0.0), INTERVAL))
    mode = kind.removeprefix("db_restart_")
    took = cluster.restart(mode)
    log(f"restarted the database ({mode}) in {took:.2f} s")


def inject(
    fleet: Fleet, seconds: float, rng: random.Random, cluster: Cluster | None
) -> Counter[str]:
    """Inject random faults for `seconds`; return how many of each."""
    faults: Counter[str] = Counter()
    end = time.monotonic() + seconds
    db_at = db_faults(seconds, cluster)
    pending: list[tuple[float, str, str]] = []  # (when, action, worker)
    while time.monotonic() < end:
        now = time.monotonic()
        for item in [p for p in pending if p[0] <= now]:
            pending.remove(item)
            if not follow_up(fleet, item[1], item[2]):
                pending.append((now + 1.0, item[1], item[2]))
        if db_at and now >= db_at[0][0]:
            kind = db_at.pop(0)[1]
            faults[kind] += 1
            hit_database(kind, cluster)
        busy = {name for _, _, name in pending}
        free = [name for name in fleet.procs if name not in busy]
        if free and rng.random() < 0.25:
            name = rng.choice(free)
            action = rng.choice(["kill9", "kill9", "term", "stop"])
            faults[action] += 1
            log(f"{action} {name}")
            if action == "kill9":
                fleet.signal(name, signal.SIGKILL)
                pending.append((now + 1.0, "restart", name))
            elif action == "term":
                fleet.signal(name, signal.SIGTERM)
                pending.append((now + 1.0, "restart", name))
            else:
                fleet.signal(name, signal.SIGSTOP)
                fleet.stopped.add(name)
                pending.append((now + LOST_AFTER + 4, "cont", name))
        time.sleep(1.0)
    while pending:
        pending.sort()
        when, action, name = pending.pop(0)
        time.sleep(max(0.0, when - time.monotonic()))
        if not follow_up(fleet, action, name):
            pending.append((time.monotonic() + 1.0, action, name))
    return faults


def follow_up(fleet: Fleet, action: str, name: str) -> bool:
    """Resume a stopped worker, or restart one that has exited; True if done.

    Never waits: a worker told to stop may be blocked on a lock that a
    stopped worker holds until it is resumed.
    """
    if action == "cont":
        fleet.signal(name, signal.SIGCONT)
        fleet.stopped.discard(name)
        return True
    if fleet.procs[name].poll() is None:
        return False
    fleet.start(name)
    return True


def executions(path: Path) -> dict[tuple[str, str, str], list[tuple[float, float]]]:
    """Return each (job, slot, attempt)'s executions as (start, end) spans."""
    starts: dict[tuple[str, str, str, str], float] = {}
    ends: dict[tuple[str, str, str, str], float] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        kind, job, slot, attempt, pid, at = line.split()
        if kind == "overlap":
            OVERLAPS.add((job, slot))
            continue
        (starts if kind == "start" else ends)[(job, slot, attempt, pid)] = float(at)
    spans: dict[tuple[str, str, str], list[tuple[float, float]]] = defaultdict(list)
    for key, started in starts.items():
        spans[key[:3]].append((started, ends.get(key, float("inf"))))
    return spans


def count(
    spans: dict[tuple[str, str, str], list[tuple[float, float]]],
) -> dict[str, Any]:
    """Count the outcomes the issue asks for."""
    by_slot: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for (job, slot, _), items in spans.items():
        by_slot[(job, slot)].extend(items)
    concurrent = len(OVERLAPS)
    # Re-run although an earlier execution had ended on its own: its worker
    # died (or stalled) before recording the success.
    after_success = sum(
        1
        for items in by_slot.values()
        if len(items) > 1 and any(end != float("inf") for _, end in sorted(items)[:-1])
    )
    twice = sum(1 for items in by_slot.values() if len(items) > 1) - sum(
        1 for key in OVERLAPS if len(by_slot[key]) > 1
    )
    runs = list(
        JobRun.objects.values_list(
            "job__name", "scheduled_for", "attempt", "status", "not_before"
        )
    )
    slots: dict[str, set[datetime]] = defaultdict(set)
    succeeded: Counter[tuple[str, datetime]] = Counter()
    for name, at, _, status, _ in runs:
        slots[name].add(at)
        if status == JobRun.Status.SUCCEEDED:
            succeeded[(name, at)] += 1
    missed = 0
    for found in slots.values():
        first, last = min(found), max(found)
        expected = int((last - first).total_seconds() // INTERVAL) + 1
        missed += expected - len(found)
    now = clock.now()
    stuck = sum(
        1
        for *_, status, not_before in runs
        if status == JobRun.Status.RUNNING
        or (status == JobRun.Status.QUEUED and not_before <= now)
    )
    failed_unrun = sum(
        1
        for name, slot, attempt, status, _ in runs
        if status == JobRun.Status.FAILED
        and (name, _iso(slot), str(attempt)) not in spans
    )
    statuses = Counter(status for *_, status, _ in runs)
    # Why runs ended other than succeeded: (status, reason code, exit code).
    ends = Counter(
        " ".join(str(v) for v in row)
        for row in JobRun.objects.exclude(status=JobRun.Status.SUCCEEDED)
        .values_list("status", "reason_code", "exit_code")
        .order_by()
    )
    return {
        "slots": sum(len(found) for found in slots.values()),
        "runs": len(runs),
        "statuses": dict(statuses),
        "other_ends": dict(ends),
        "missed": missed,
        "duplicated": sum(1 for n in succeeded.values() if n > 1),
        "double_executed_concurrently": concurrent,
        "executed_twice_in_turn": twice,
        "of_which_after_a_finished_execution": after_success,
        "stuck": stuck,
        "failed_without_running": failed_unrun,
    }


def _active() -> int:
    """Return how many runs are running, or queued and due."""
    return JobRun.objects.filter(
        Q(status=JobRun.Status.RUNNING)
        | Q(status=JobRun.Status.QUEUED, not_before__lte=clock.now())
    ).count()


def _iso(value: datetime) -> str:
    """Return `value` as the script saw it (JOB_SCHEDULED_FOR)."""
    return value.astimezone(UTC).isoformat()


def leftovers(scripts: Path) -> int:
    """Return how many processes still run a script of `scripts`."""
    found = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(scripts).encode() in cmdline:
            found += 1
    return found


def run_on_own_server(argv: list[str]) -> int:
    """Start an own cluster, re-run this script on it, then remove the cluster.

    The re-run gets the cluster's URL before Django is set up, and the
    cluster's whereabouts to restart it.
    """
    with own_cluster("fault") as cluster:
        log(f"own PostgreSQL cluster on port {cluster.port} ({cluster.data})")
        env = {
            **os.environ,
            "JOB_PORTAL_DB_URL": cluster.url,
            CLUSTER_ENV: json.dumps(
                [str(cluster.bin), str(cluster.data), cluster.port, cluster.database]
            ),
        }
        child = subprocess.Popen([sys.executable, __file__, *argv], env=env)
        try:
            return child.wait()
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
                try:
                    child.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


def cluster_from_env() -> Cluster | None:
    """Return the own cluster this run was started on, if any."""
    raw = os.environ.get(CLUSTER_ENV)
    if not raw:
        return None
    bin_dir, data, port, database = json.loads(raw)
    return Cluster(bin=Path(bin_dir), data=Path(data), port=port, database=database)


def main() -> None:
    """Run the faults and print the counts as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--own-server",
        action="store_true",
        help="start an own PostgreSQL cluster and restart it for real (twice)",
    )
    options = parser.parse_args()
    # SIGTERM (and SIGINT, even when started in the background, where it is
    # ignored) unwinds through the `finally` blocks: workers and the own
    # cluster are stopped.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.default_int_handler)
    cluster = cluster_from_env()
    if options.own_server and cluster is None:
        raise SystemExit(run_on_own_server(sys.argv[1:]))
    if connection.vendor != "postgresql":
        raise SystemExit("Set JOB_PORTAL_DB_URL to a PostgreSQL database of yours.")
    started = time.monotonic()
    load = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="fault-run-"))
    scripts = folder / "scripts"
    scripts.mkdir()
    fault_log = folder / "executions.log"
    env = {
        **os.environ,
        "JOB_PORTAL_SCRIPTS_DIR": str(scripts),
        "JOB_PORTAL_ARTIFACTS_DIR": str(folder / "artifacts"),
        "JOB_PORTAL_RUN_STATE_DIR": str(folder / "run-state"),
        "JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL": "false",
        "JOB_PORTAL_WORKER_LOST_AFTER": str(LOST_AFTER),
        "JOB_PORTAL_WORKER_SHUTDOWN_GRACE": "3",
        "JOB_PORTAL_WORKER_POLL_INTERVAL": "1",
        "FAULT_LOG": str(fault_log),
    }
    settings.JOB_PORTAL_SCRIPTS_DIR = str(scripts)
    settings.JOB_PORTAL_ARTIFACTS_DIR = str(folder / "artifacts")
    settings.JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL = False
    setup(scripts, options.jobs)
    fleet = Fleet(env, folder)
    settle = Fleet(env, folder)
    try:
        for i in range(WORKERS):
            fleet.start(f"fw-{i}")
        log(f"{WORKERS} workers, {options.jobs} jobs every {INTERVAL} s; faults follow")
        rng = random.Random(options.seed)  # noqa: S311
        faults = inject(fleet, options.seconds, rng, cluster)
        Job.objects.update(is_active=False)
        log("faults over; settling")
        time.sleep(LOST_AFTER * 2 + 5)
        fleet.stop_all()
        for i in range(WORKERS):
            settle.start(f"settle-{i}")
        deadline = time.monotonic() + SETTLE_SECONDS
        while _active() and time.monotonic() < deadline:
            time.sleep(1.0)
    finally:
        fleet.stop_all()
        settle.stop_all()
    time.sleep(0.5)
    result = count(executions(fault_log))
    result.update(
        {"faults": dict(faults), "leftover_processes": leftovers(scripts)},
        seconds=options.seconds,
        wall_seconds=round(time.monotonic() - started),
        load_average_at_start=[round(x, 2) for x in load],
        load_average_at_end=[round(x, 2) for x in os.getloadavg()],
        database="own cluster, restarted for real" if cluster else "given",
        folder=str(folder),
    )
    sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
