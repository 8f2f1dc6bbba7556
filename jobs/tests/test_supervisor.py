"""Tests for the run supervisor and the process tree: real processes only."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from jobs import checks, process_tree, supervisor
from jobs.runner import Lease, ProcessSpec, interpreter_argv, run_process

BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
# A script whose descendants try every way out of a process group: a child,
# a grandchild, a grandchild in its own session (setsid) and a daemon that
# double-forked (its parent exited, so it was orphaned). Each writes its pid
# to $PIDS, then everything sleeps.
TREE_SCRIPT = """\
echo "script $$" >> "$PIDS"
bash -c 'echo "child $$" >> "$PIDS"
sleep 1000 & echo "grandchild $!" >> "$PIDS"; wait' &
setsid bash -c 'echo "setsid $$" >> "$PIDS"; exec sleep 1000' &
bash -c '( setsid bash -c '"'"'echo "daemon $$" >> "$PIDS"
exec sleep 1000'"'"' & ) ; exit 0' &
echo ready
wait
"""
SLEEP = "import time; time.sleep(1000)"
NAMES = {"script", "child", "grandchild", "setsid", "daemon"}
# A worker-like parent: runs TREE_SCRIPT through the runner, then waits.
PARENT = """\
import os, sys
sys.path.insert(0, {root!r})
from jobs.runner import ProcessSpec, run_process
spec = ProcessSpec(argv=["bash", {script!r}], cwd={cwd!r},
                   env={env!r}, timeout_seconds=None)
run_process(spec)
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _pids(path: Path) -> dict[str, int]:
    """Return the pids the tree wrote, once all five are there (bounded)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        found = {name: int(pid) for name, pid in re.findall(r"(\w+) (\d+)", text)}
        if set(found) >= NAMES:
            return found
        time.sleep(0.01)
    raise AssertionError(f"the tree did not start: {path.read_text()!r}")


def _all_end(pids: list[int], seconds: float) -> bool:
    """Return whether every pid is dead (or a zombie) within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(process_tree.is_alive(pid) for pid in pids):
            return True
        time.sleep(0.01)
    return False


def _spec(tmp_path: Path, *, timeout: float | None, grace: float = 0.5) -> ProcessSpec:
    script = _write(tmp_path, "tree.sh", TREE_SCRIPT)
    env = {**BASE_ENV, "PIDS": str(tmp_path / "pids")}
    return ProcessSpec(
        argv=interpreter_argv(script, []),
        cwd=str(tmp_path),
        env=env,
        timeout_seconds=timeout,
        kill_grace_seconds=grace,
    )


def test_kill_9_of_the_worker_ends_every_descendant_within_a_second(
    tmp_path: Path,
) -> None:
    """The supervisor outlives a kill -9 of its parent only to end the tree."""
    script = _write(tmp_path, "tree.sh", TREE_SCRIPT)
    env = {**BASE_ENV, "PIDS": str(tmp_path / "pids")}
    root = str(Path(__file__).resolve().parents[2])
    code = PARENT.format(root=root, script=str(script), cwd=str(tmp_path), env=env)
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        pids = _pids(tmp_path / "pids")
        parent.kill()
        parent.wait(timeout=10)
        assert _all_end(list(pids.values()), 1.0) is True
    finally:
        parent.kill()
        parent.wait(timeout=10)
        process_tree.signal_all(list(_pids_or_none(tmp_path)), signal.SIGKILL)


def _pids_or_none(tmp_path: Path) -> list[int]:
    path = tmp_path / "pids"
    text = path.read_text() if path.exists() else ""
    return [int(pid) for pid in re.findall(r"\d+", text)]


def test_timeout_ends_setsid_and_double_forked_descendants(tmp_path: Path) -> None:
    """A timeout ends even the descendants that left the process group."""
    result = run_process(_spec(tmp_path, timeout=1.0, grace=0.3))
    pids = _pids(tmp_path / "pids")
    assert result.timed_out is True
    assert _all_end(list(pids.values()), 1.0) is True


def test_cancel_ends_setsid_and_double_forked_descendants(tmp_path: Path) -> None:
    """A cancel ends even the descendants that left the process group."""
    cancel = threading.Event()
    spec = _spec(tmp_path, timeout=None, grace=0.3)

    def cancel_once_started() -> None:
        _pids(tmp_path / "pids")
        cancel.set()

    timer = threading.Thread(target=cancel_once_started, daemon=True)
    timer.start()
    result = run_process(spec, cancel=cancel)
    pids = _pids(tmp_path / "pids")
    assert result.cancelled is True
    assert _all_end(list(pids.values()), 1.0) is True


def test_a_normal_exit_ends_what_the_script_left_behind(tmp_path: Path) -> None:
    """A setsid grandchild left running at exit is ended with the run."""
    text = 'setsid sleep 1000 >/dev/null 2>&1 &\necho "bg $!"\n'
    script = _write(tmp_path, "leave.sh", text)
    spec = ProcessSpec(
        argv=interpreter_argv(script, []),
        cwd=str(tmp_path),
        env=BASE_ENV,
        timeout_seconds=30,
    )
    result = run_process(spec)
    pid = int(result.output.split()[1])
    assert result.exit_code == 0
    assert _all_end([pid], 1.0) is True


def test_on_start_gets_the_supervisor_the_parent_of_the_script(
    tmp_path: Path,
) -> None:
    """The supervisor is the script's parent and its process group leader."""
    text = "import os\nprint(os.getppid(), os.getpgid(0), flush=True)\n"
    script = _write(tmp_path, "who.py", text)
    seen: list[int] = []
    spec = ProcessSpec(
        argv=interpreter_argv(script, []),
        cwd=str(tmp_path),
        env=BASE_ENV,
        timeout_seconds=30,
    )
    result = run_process(spec, on_start=seen.append)
    parent, group = (int(word) for word in result.output.split())
    assert seen == [parent]
    assert group == parent
    assert parent != os.getpid()


def test_an_unrenewed_lease_ends_the_script(tmp_path: Path) -> None:
    """Without renewals past `fence_seconds`, the supervisor ends the script."""
    script = _write(tmp_path, "long.sh", "echo started\nexec sleep 1000\n")
    spec = ProcessSpec(
        argv=interpreter_argv(script, []),
        cwd=str(tmp_path),
        env=BASE_ENV,
        timeout_seconds=30,
        fence_seconds=0.5,
    )
    started = time.monotonic()
    result = run_process(spec, lease=Lease(time.monotonic()))
    assert result.lease_expired is True
    assert result.exit_code == -signal.SIGKILL
    assert 0.4 <= time.monotonic() - started < 2.0


def test_a_renewed_lease_lets_the_script_finish(tmp_path: Path) -> None:
    """Renewals passed on to the supervisor keep its fence from firing."""
    script = _write(tmp_path, "nap.sh", "sleep 1.2\necho done\n")
    spec = ProcessSpec(
        argv=interpreter_argv(script, []),
        cwd=str(tmp_path),
        env=BASE_ENV,
        timeout_seconds=30,
        fence_seconds=0.5,
    )
    lease = Lease(time.monotonic())
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(0.1):
            lease.renewed_at = time.monotonic()

    renewer = threading.Thread(target=renew, daemon=True)
    renewer.start()
    try:
        result = run_process(spec, lease=lease)
    finally:
        stop.set()
    assert (result.exit_code, result.output, result.lease_expired) == (
        0,
        "done\n",
        False,
    )


def test_tree_end_ends_a_process_and_its_descendants(tmp_path: Path) -> None:
    """tree_end kills the named process and everything below it."""
    head = subprocess.Popen(
        ["/bin/bash", "-c", "setsid sleep 1000 & echo $!; wait"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert head.stdout is not None
    below = int(head.stdout.readline())
    started = process_tree.start_time(head.pid)
    assert started is not None
    assert process_tree.tree_end(head.pid, started) is True
    head.wait(timeout=5)
    assert _all_end([below], 1.0) is True


def test_a_recycled_pid_is_never_killed() -> None:
    """A pid whose start time differs (reused by another process) is left alone."""
    other = subprocess.Popen([sys.executable, "-c", SLEEP])
    try:
        started = process_tree.start_time(other.pid)
        assert started is not None
        assert process_tree.tree_end(other.pid, started - 1) is True
        time.sleep(0.05)  # a kill, had one been sent, lands at once
        assert process_tree.is_alive(other.pid) is True
    finally:
        other.kill()
        other.wait(timeout=5)


def test_boot_id_is_this_boots() -> None:
    """The boot id comes from the kernel, the same on every read."""
    assert re.fullmatch(r"[0-9a-f-]{36}", process_tree.boot_id())
    assert process_tree.boot_id() == process_tree.boot_id()


@pytest.mark.parametrize("missing", ["/nonexistent/prog", "no-such-program-xyz"])
def test_a_program_that_cannot_start_is_a_start_error(
    tmp_path: Path, missing: str
) -> None:
    """The supervisor reports why the script could not start."""
    spec = ProcessSpec(
        argv=[missing], cwd=str(tmp_path), env=BASE_ENV, timeout_seconds=5
    )
    result = run_process(spec)
    assert result.exit_code is None
    assert result.error == (
        f"could not start: [Errno 2] No such file or directory: '{missing}'"
    )


def test_the_script_does_not_inherit_ignored_sigpipe(tmp_path: Path) -> None:
    """SIGPIPE is back to the default for the script (the worker ignores it)."""
    script = _write(tmp_path, "sig.sh", "grep SigIgn /proc/self/status\n")
    spec = ProcessSpec(
        argv=interpreter_argv(script, []),
        cwd=str(tmp_path),
        env=BASE_ENV,
        timeout_seconds=30,
    )
    result = run_process(spec)
    ignored = int(result.output.split()[1], 16)
    assert ignored & (1 << (signal.SIGPIPE - 1)) == 0


def test_this_system_can_supervise_runs() -> None:
    """Linux with prctl and /proc: no reason to refuse."""
    assert supervisor.unsupported_reason() is None


def test_another_system_is_refused_by_a_system_check_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Elsewhere `manage.py check` says why runs cannot start (jobs.E110)."""
    monkeypatch.setattr(sys, "platform", "darwin")
    errors = checks.check_run_supervisor(None)
    assert [(e.id, e.msg) for e in errors] == [
        ("jobs.E110", supervisor.MSG_UNSUPPORTED.format(platform="darwin"))
    ]


def test_descendants_from_children_files_are_those_a_walk_of_proc_finds(
    tmp_path: Path,
) -> None:
    """Down from the supervisor (a subreaper): every way out is still below it."""
    spec = _spec(tmp_path, timeout=None)
    handle = supervisor.spawn(spec.argv, cwd=spec.cwd, env=spec.env)
    try:
        pids = _pids(tmp_path / "pids")
        found = process_tree.descendants(handle.pid)
        assert set(pids.values()) <= set(found)
        assert sorted(found) == sorted(process_tree._descendants_by_walk(handle.pid))
        assert found.index(pids["script"]) < found.index(pids["child"])
    finally:
        handle.close()
        os.close(handle.output_fd)
    assert _all_end(list(pids.values()), 1.0) is True
