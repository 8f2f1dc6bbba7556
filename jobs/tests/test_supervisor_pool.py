"""Tests for the spare supervisors (`jobs.supervisor.pool`): real processes only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from jobs import process_tree
from jobs.models import Job, JobRun
from jobs.runner import ProcessSpec, interpreter_argv, run_process
from jobs.services import leases
from jobs.services.runs import job_run_now
from jobs.supervisor import pool, spawn
from jobs.supervisor.protocol import NAME_SPARE, NAME_SUPERVISOR
from jobs.tests.conftest import FakeClock, eventually
from jobs.tests.test_supervisor import BASE_ENV, TREE_SCRIPT, _all_end, _pids, _write
from jobs.worker import WorkerLoop

# A worker-like parent with a pool: says its spares' pids, then runs
# TREE_SCRIPT through the runner (on one of them) and waits.
PARENT = """\
import sys
sys.path.insert(0, {root!r})
from jobs.runner import ProcessSpec, run_process
from jobs.supervisor import pool
pool.pool_start(2)
assert pool.pool().wait_full(20)
print(*pool.pool().pids(), flush=True)
spec = ProcessSpec(argv=["bash", {script!r}], cwd={cwd!r},
                   env={env!r}, timeout_seconds=None)
run_process(spec)
"""


@pytest.fixture
def spares() -> Iterator[pool.SparePool]:
    """Keep two spares ready for the test; let them go after it."""
    pool.pool_start(2)
    assert pool.pool().wait_full(20) is True
    yield pool.pool()
    pool.pool_stop()


def _name(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def _spec(
    tmp_path: Path, text: str, *, fence_seconds: float | None = None
) -> ProcessSpec:
    script = _write(tmp_path, "script.sh", text)
    return ProcessSpec(
        argv=interpreter_argv(script, []),
        cwd=str(tmp_path),
        env=BASE_ENV,
        timeout_seconds=30,
        fence_seconds=fence_seconds,
    )


def test_a_spare_waits_in_a_session_of_its_own_with_only_its_descriptors(
    tmp_path: Path,
) -> None:
    """A pipe the worker opened before the fork is not the spare's."""
    read, write = os.pipe()
    try:
        pool.pool_start(1)
        assert pool.pool().wait_full(20) is True
        (pid,) = pool.pool().pids()
        held = {
            os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")
        }
        ours = {os.readlink(f"/proc/self/fd/{fd}") for fd in (read, write)}
        assert held & ours == set()
        assert (os.getsid(pid), os.getpgid(pid)) == (pid, pid)
        assert _name(pid) == NAME_SPARE.decode()
        assert process_tree.descendants(pid) == []
    finally:
        pool.pool_stop()
        os.close(read)
        os.close(write)


def test_a_run_starts_on_a_waiting_spare_which_is_then_replaced(
    spares: pool.SparePool, tmp_path: Path
) -> None:
    """The spare becomes the supervisor; the refill brings the pool back to two."""
    waiting = spares.pids()
    text = "echo $PPID\n"
    result = run_process(_spec(tmp_path, text))
    assert result.exit_code == 0
    assert int(result.output) in waiting
    assert spares.wait_full(20) is True
    assert int(result.output) not in spares.pids()


def test_a_started_spare_names_itself_supervisor(
    spares: pool.SparePool, tmp_path: Path
) -> None:
    """ps tells a spare (no run's) from a supervisor (a run's)."""
    handle = spawn(["sleep", "1000"], cwd=str(tmp_path), env=BASE_ENV)
    try:
        assert _name(handle.pid) == NAME_SUPERVISOR.decode()
        assert all(_name(pid) == NAME_SPARE.decode() for pid in spares.pids())
    finally:
        handle.close()
        os.close(handle.output_fd)


def test_an_exhausted_pool_forks_a_supervisor_on_the_spot(tmp_path: Path) -> None:
    """With no spare waiting, spawn forks one with the same code and starts."""
    pool.pool_start(1)
    try:
        assert pool.pool().wait_full(20) is True
        held = pool.spare_take()
        assert held is not None
        assert pool.pool().ready() == 0
        result = run_process(_spec(tmp_path, "echo $PPID\n"))
        assert result.exit_code == 0
        assert int(result.output) != held.pid
        held.discard()
    finally:
        pool.pool_stop()


@pytest.mark.parametrize("missing", ["/nonexistent/prog", "no-such-program-xyz"])
def test_a_program_that_cannot_start_on_a_spare_is_the_same_start_error(
    spares: pool.SparePool, tmp_path: Path, missing: str
) -> None:
    """The spare reports why the script could not start, as a fresh fork does."""
    spec = ProcessSpec(
        argv=[missing], cwd=str(tmp_path), env=BASE_ENV, timeout_seconds=5
    )
    result = run_process(spec)
    assert result.exit_code is None
    assert result.error == (
        f"could not start: [Errno 2] No such file or directory: '{missing}'"
    )


@pytest.mark.parametrize(
    ("argv", "env"),
    [(["/bin/echo", "a\x00b"], BASE_ENV), (["/bin/echo"], {**BASE_ENV, "X": "a\x00"})],
)
def test_a_null_byte_on_a_spare_is_the_same_start_error(
    spares: pool.SparePool, tmp_path: Path, argv: list[str], env: dict[str, str]
) -> None:
    """An embedded null byte is refused by the spare as by a fresh fork."""
    spec = ProcessSpec(argv=argv, cwd=str(tmp_path), env=env, timeout_seconds=5)
    result = run_process(spec)
    assert (result.exit_code, result.error) == (
        None,
        "could not start: embedded null byte",
    )


def test_the_fence_counts_from_the_start_request_not_the_fork(
    spares: pool.SparePool, tmp_path: Path
) -> None:
    """A spare that waited longer than the fence still lets its script run."""
    time.sleep(0.6)  # the spares wait; a fence counted from the fork ran out
    result = run_process(_spec(tmp_path, "sleep 0.2\necho done\n", fence_seconds=0.5))
    assert (result.exit_code, result.output, result.lease_expired) == (
        0,
        "done\n",
        False,
    )


def test_stopping_the_pool_lets_the_spares_go(spares: pool.SparePool) -> None:
    """At the worker's shutdown the spares exit and are reaped."""
    waiting = spares.pids()
    pool.pool_stop()
    assert spares.ready() == 0
    assert _all_end(waiting, 1.0) is True


def test_kill_9_of_the_worker_ends_its_spares_and_its_runs_trees(
    tmp_path: Path,
) -> None:
    """Spares and the supervisor made of one all end within a second."""
    script = _write(tmp_path, "tree.sh", TREE_SCRIPT)
    env = {**BASE_ENV, "PIDS": str(tmp_path / "pids")}
    root = str(Path(__file__).resolve().parents[2])
    code = PARENT.format(root=root, script=str(script), cwd=str(tmp_path), env=env)
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    )
    found: list[int] = []
    try:
        assert parent.stdout is not None
        found = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(found) == 2
        found += list(_pids(tmp_path / "pids").values())
        parent.kill()
        parent.wait(timeout=10)
        assert _all_end(found, 1.0) is True
    finally:
        parent.kill()
        parent.wait(timeout=10)
        process_tree.signal_all(found, 9)


@pytest.mark.django_db
def test_waiting_spares_are_no_runs(
    spares: pool.SparePool,
    make_job: Callable[..., Job],
    make_loop: Callable[..., WorkerLoop],
    clock: FakeClock,
    now: datetime,
) -> None:
    """Recovery, leftovers and strays leave waiting spares alone."""
    loop = make_loop("host-worker")
    loop.register()
    run = job_run_now(
        job=make_job(script="nap.py", env={"NAP": "0"}), requested_by=None, now=now
    )
    assert loop.claim_runs(1) == [run]
    run.refresh_from_db()
    loop.execute_run(run)
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED
    assert spares.wait_full(20) is True
    waiting = spares.pids()
    assert run.supervisor_pid not in waiting
    assert JobRun.objects.filter(supervisor_pid__in=waiting).exists() is False
    make_loop("fresh").register()
    assert leases.runs_leftovers_end(host=socket.gethostname(), now=clock()) == 0
    clock.advance(61)
    loop.heartbeat()
    assert loop.recover_lost_runs() == 0
    assert loop.hand_back_strays() == []
    assert all(process_tree.is_alive(pid) for pid in waiting)
    assert sorted(waiting) == sorted(spares.pids())


def _parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def test_spares_are_forked_by_the_fork_server_not_by_the_worker(
    spares: pool.SparePool, tmp_path: Path
) -> None:
    """The worker's pages are never shared with a spare: the server forks them."""
    server = spares.forkserver().pid()
    assert server is not None
    assert _parent_of(server) == os.getpid()
    assert {_parent_of(pid) for pid in spares.pids()} == {server}
    # The script reads its supervisor's parent while the supervisor lives.
    result = run_process(_spec(tmp_path, "cut -d' ' -f4 /proc/$PPID/stat\n"))
    assert result.exit_code == 0
    assert int(result.output) == server
    # The server reaps what it forked: no zombie is left once a run ended.
    assert spares.wait_full(20) is True
    children = process_tree.descendants(server)
    assert sorted(children) == sorted(spares.pids())


def test_a_fork_server_that_died_is_started_again(
    spares: pool.SparePool, tmp_path: Path
) -> None:
    """Killed, the server takes its spares with it; the next run starts anyway."""
    server = spares.forkserver().pid()
    assert server is not None
    waiting = spares.pids()
    os.kill(server, signal.SIGKILL)
    eventually(
        lambda: all(not process_tree.is_alive(pid) for pid in waiting), timeout=20
    )

    result = run_process(_spec(tmp_path, "echo ok\n"))

    assert (result.exit_code, result.output.strip()) == (0, "ok")
    assert spares.forkserver().pid() not in (None, server)
    assert spares.wait_full(20) is True


def test_the_fork_server_ignores_signals_meant_for_the_workers_group(
    spares: pool.SparePool,
) -> None:
    """Ctrl-C or SIGTERM to the worker's process group stop the worker
    gracefully; the server, and so every running supervisor, stays."""
    server = spares.forkserver().pid()
    assert server is not None
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        os.kill(server, signum)
    # A spare forked after the signals: the server ran since they came.
    pool.spare_fork().discard()
    assert spares.forkserver().pid() == server
    assert all(process_tree.is_alive(pid) for pid in spares.pids())


def test_a_script_ended_because_the_fork_server_died_is_no_failure(
    spares: pool.SparePool, tmp_path: Path
) -> None:
    """Its supervisor ends it and reports no exit: the worker records it lost."""
    server = spares.forkserver().pid()
    assert server is not None
    spec = _spec(tmp_path, "echo started\nexec sleep 1000\n")
    handle = spawn(spec.argv, cwd=spec.cwd, env=spec.env)
    os.kill(server, signal.SIGKILL)
    handle.control.settimeout(10)
    while data := handle.control.recv(4096):  # until the supervisor's end
        handle.take(data)
    assert handle.exit_code is None
    assert handle.close() is None
    os.close(handle.output_fd)
