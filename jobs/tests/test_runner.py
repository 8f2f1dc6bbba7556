"""Tests for the process runner: real subprocesses running tiny scripts."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jobs.folder_size import FolderLimit
from jobs.runner import (
    MSG_DROPPED,
    OutputBuffer,
    ProcessResult,
    ProcessSpec,
    interpreter_argv,
    mask_open_end,
    mask_secrets,
    run_process,
)

BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
WAITING_SCRIPT = """\
import pathlib, sys, time
print("first", flush=True)
flag = pathlib.Path(sys.argv[1])
deadline = time.monotonic() + 10
while not flag.exists() and time.monotonic() < deadline:
    time.sleep(0.01)
print("second")
sys.exit(0 if flag.exists() else 1)
"""
# Every process here ignores SIGTERM (an ignored signal stays ignored across
# fork and exec), so only the SIGKILL after the grace period ends them.
STUBBORN_SCRIPT = """\
trap '' TERM
echo "leader $$"
bash -c 'sleep 1000 & echo "grandchild $!"; wait' &
echo "child $!"
wait
"""
FLOOD_SCRIPT = """\
import sys
block = b"0123456789abcde\\n" * 65536
for _ in range(1024):
    sys.stdout.buffer.write(block)
"""
GIB = 1024**3
SECRET = "pa55-Word-7c1b"
# Prints the start of SECRET, waits for the flag file, then prints its rest
# and SECRET whole: a secret split across two writes and so two reads.
SPLIT_SECRET_SCRIPT = f"""\
import pathlib, sys, time
secret = {SECRET!r}
print("token=" + secret[:4], end="", flush=True)
flag = pathlib.Path(sys.argv[1])
deadline = time.monotonic() + 10
while not flag.exists() and time.monotonic() < deadline:
    time.sleep(0.01)
print(secret[4:] + " and " + secret)
"""


def _write(tmp_path: Path, name: str, text: str, *, mode: int = 0o644) -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(mode)
    return path


def _run(
    tmp_path: Path,
    script: Path,
    *args: str,
    timeout: float | None = 30,
    grace: float = 5.0,
    mask: tuple[str, ...] = (),
    **kwargs: Any,
) -> ProcessResult:
    spec = ProcessSpec(
        argv=interpreter_argv(script, list(args)),
        cwd=str(tmp_path),
        env=BASE_ENV,
        timeout_seconds=timeout,
        kill_grace_seconds=grace,
        mask=mask,
    )
    return run_process(spec, **kwargs)


def _is_alive(pid: int) -> bool:
    """Return whether `pid` runs; unreaped zombies count as dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _group_alive(pgid: int) -> list[int]:
    """Return the live (non-zombie) pids whose process group is `pgid`."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            alive.append(int(entry.name))
    return alive


def _all_dead(pids: list[int], *, pgid: int | None = None) -> bool:
    """Return whether `pids` (and group `pgid`) are dead within two seconds.

    SIGKILL is delivered asynchronously, so a killed process may still show
    as running for a moment after run_process returns.
    """
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        group = _group_alive(pgid) if pgid is not None else []
        if not group and not any(_is_alive(pid) for pid in pids):
            return True
        os.sched_yield()
    return False


def _pids(output: str) -> dict[str, int]:
    return {name: int(pid) for name, pid in re.findall(r"(\w+) (\d+)", output)}


def _memory_kib(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def test_exit_zero_returns_output(tmp_path: Path) -> None:
    """A script that succeeds gives exit code 0 and its output."""
    script = _write(tmp_path, "ok.py", "print('hello')\n")
    result = _run(tmp_path, script)
    assert result == ProcessResult(
        exit_code=0,
        timed_out=False,
        cancelled=False,
        output="hello\n",
        dropped_bytes=0,
        duration_seconds=result.duration_seconds,
    )


def test_exit_code_is_returned(tmp_path: Path) -> None:
    """A script's non-zero exit code comes back as is."""
    script = _write(tmp_path, "fail.py", "import sys\nprint('bad')\nsys.exit(2)\n")
    result = _run(tmp_path, script)
    assert (result.exit_code, result.output) == (2, "bad\n")


def test_stdout_and_stderr_are_interleaved_in_order(tmp_path: Path) -> None:
    """Writes to stdout and stderr keep their order in the output."""
    text = (
        "import sys\n"
        "for i in range(3):\n"
        "    print(f'out {i}', flush=True)\n"
        "    print(f'err {i}', file=sys.stderr, flush=True)\n"
    )
    result = _run(tmp_path, _write(tmp_path, "both.py", text))
    assert result.output == "out 0\nerr 0\nout 1\nerr 1\nout 2\nerr 2\n"


def test_undecodable_bytes_are_replaced(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 become replacement characters."""
    text = "import sys\nsys.stdout.buffer.write(b'\\xff\\xfe ok')\n"
    result = _run(tmp_path, _write(tmp_path, "bytes.py", text))
    assert result.output == "\ufffd\ufffd ok"


def test_env_and_cwd_reach_the_child(tmp_path: Path) -> None:
    """The child gets exactly the given environment and working directory."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    text = "import os\nprint(os.getcwd())\nprint(os.environ.get('JOB_NAME'))\n"
    text += "print('HOME' in os.environ)\n"
    spec = ProcessSpec(
        argv=interpreter_argv(_write(tmp_path, "env.py", text), []),
        cwd=str(workdir),
        env={**BASE_ENV, "JOB_NAME": "nightly"},
        timeout_seconds=30,
    )
    result = run_process(spec)
    assert result.output == f"{workdir}\nnightly\nFalse\n"


def test_args_are_passed(tmp_path: Path) -> None:
    """Arguments reach the script unchanged, spaces and all."""
    script = _write(tmp_path, "args.py", "import sys\nprint(sys.argv[1:])\n")
    result = _run(tmp_path, script, "a b", "--x=1")
    assert result.output == "['a b', '--x=1']\n"


def test_interpreter_argv_picks_the_interpreter() -> None:
    """.py runs with Python, .sh with bash, anything else directly."""
    assert interpreter_argv(Path("/s/a.py"), ["1"], python="/py") == [
        "/py",
        "-I",
        "/s/a.py",
        "1",
    ]
    assert interpreter_argv(Path("/s/a.sh"), []) == [
        "bash",
        "--noprofile",
        "--norc",
        "-p",
        "/s/a.sh",
    ]
    assert interpreter_argv(Path("/s/a.pl"), ["x"]) == ["/s/a.pl", "x"]


def test_shell_script_runs_with_bash(tmp_path: Path) -> None:
    """A .sh script runs with bash even when not executable."""
    script = _write(tmp_path, "job.sh", 'echo "bash $BASH_VERSION" | cut -c1-4\n')
    result = _run(tmp_path, script)
    assert (result.exit_code, result.output) == (0, "bash\n")


def test_non_executable_script_gives_start_error(tmp_path: Path) -> None:
    """A script of another type that is not executable cannot start."""
    script = _write(tmp_path, "job.pl", "#!/bin/sh\necho hi\n")
    result = _run(tmp_path, script)
    assert result.exit_code is None
    assert result.error.startswith("could not start: [Errno 13] Permission denied")
    assert (result.output, result.timed_out, result.cancelled) == ("", False, False)


def test_executable_script_runs_directly(tmp_path: Path) -> None:
    """An executable script of another type runs through its shebang."""
    script = _write(tmp_path, "job.run", "#!/bin/sh\necho hi\n", mode=0o755)
    result = _run(tmp_path, script)
    assert (result.exit_code, result.output, result.error) == (0, "hi\n", "")


def test_missing_working_directory_gives_start_error(tmp_path: Path) -> None:
    """A working directory that does not exist is a start error."""
    spec = ProcessSpec(
        argv=[sys.executable, "-c", "pass"],
        cwd=str(tmp_path / "gone"),
        env=BASE_ENV,
        timeout_seconds=30,
    )
    result = run_process(spec)
    assert result.exit_code is None
    assert result.error.startswith("could not start: [Errno 2]")


def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    """On timeout the group gets SIGTERM, then SIGKILL, and nothing survives."""
    script = _write(tmp_path, "stubborn.sh", STUBBORN_SCRIPT)
    started = time.monotonic()
    result = _run(tmp_path, script, timeout=0.5, grace=0.5)
    elapsed = time.monotonic() - started
    assert result.timed_out is True
    assert result.cancelled is False
    assert result.exit_code == -signal.SIGKILL
    assert 1.0 <= elapsed < 2.5
    pids = _pids(result.output)
    assert set(pids) == {"leader", "child", "grandchild"}
    assert _all_dead(list(pids.values()), pgid=pids["leader"]) is True


def test_timeout_ends_a_cooperative_script_at_sigterm(tmp_path: Path) -> None:
    """A script that obeys SIGTERM ends without waiting out the grace period."""
    script = _write(tmp_path, "slow.sh", "echo started\nexec sleep 1000\n")
    started = time.monotonic()
    result = _run(tmp_path, script, timeout=0.3, grace=30)
    assert time.monotonic() - started < 2.0
    assert (result.timed_out, result.exit_code) == (True, -signal.SIGTERM)
    assert result.output == "started\n"


def test_background_process_holding_the_pipe_does_not_hang(tmp_path: Path) -> None:
    """A grandchild left holding stdout is killed after a short drain."""
    script = _write(tmp_path, "leave.sh", 'sleep 1000 &\necho "bg $!"\nexit 3\n')
    started = time.monotonic()
    result = _run(tmp_path, script, drain_seconds=0.2)
    assert time.monotonic() - started < 2.0
    assert (result.exit_code, result.timed_out) == (3, False)
    assert _all_dead([_pids(result.output)["bg"]]) is True


def test_detached_background_process_is_killed_at_exit(tmp_path: Path) -> None:
    """A grandchild that let go of stdout is still killed when the job ends."""
    text = 'sleep 1000 >/dev/null 2>&1 &\necho "bg $!"\n'
    started = time.monotonic()
    result = _run(tmp_path, _write(tmp_path, "detach.sh", text))
    assert time.monotonic() - started < 2.0
    assert result.exit_code == 0
    assert _all_dead([_pids(result.output)["bg"]]) is True


def test_cancel_stops_the_process(tmp_path: Path) -> None:
    """Setting the cancel event from another thread ends the run promptly."""
    script = _write(tmp_path, "long.sh", "echo started\nexec sleep 1000\n")
    cancel = threading.Event()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    try:
        result = _run(tmp_path, script, cancel=cancel)
    finally:
        timer.cancel()
    assert (result.cancelled, result.timed_out) == (True, False)
    assert result.exit_code == -signal.SIGTERM
    assert result.output == "started\n"
    assert result.duration_seconds < 1.5


def test_on_output_sees_partial_output_while_running(tmp_path: Path) -> None:
    """on_output gets the output so far while the script still runs."""
    flag = tmp_path / "go"
    calls: list[tuple[str, int]] = []

    def on_output(output: str, dropped: int) -> None:
        calls.append((output, dropped))
        flag.touch()

    script = _write(tmp_path, "wait.py", WAITING_SCRIPT)
    result = _run(
        tmp_path, script, str(flag), on_output=on_output, output_interval_seconds=0.05
    )
    assert calls[0] == ("first\n", 0)
    assert (result.exit_code, result.output) == (0, "first\nsecond\n")


def test_on_output_is_not_called_without_output(tmp_path: Path) -> None:
    """on_output stays silent while nothing new was read."""
    calls: list[tuple[str, int]] = []
    script = _write(tmp_path, "quiet.py", "import time\ntime.sleep(0.3)\n")
    result = _run(
        tmp_path,
        script,
        on_output=lambda *args: calls.append(args),
        output_interval_seconds=0.01,
    )
    assert (result.exit_code, calls) == (0, [])


def test_output_flood_keeps_head_and_tail_in_bounded_memory(tmp_path: Path) -> None:
    """1 GiB of output keeps its head and tail, and memory stays small."""
    # Reset the peak RSS so that earlier tests' peaks do not hide this one.
    Path("/proc/self/clear_refs").write_text("5")
    rss_before = _memory_kib("VmRSS")
    result = _run(tmp_path, _write(tmp_path, "flood.py", FLOOD_SCRIPT), timeout=120)
    growth_kib = _memory_kib("VmHWM") - rss_before
    line = "0123456789abcde\n"
    head, tail = 64 * 1024, 192 * 1024
    assert (result.exit_code, result.timed_out) == (0, False)
    assert result.dropped_bytes == GIB - head - tail
    marker = MSG_DROPPED.format(dropped=GIB - head - tail)
    assert result.output == line * (head // 16) + marker + line * (tail // 16)
    assert growth_kib < 50 * 1024, f"peak RSS grew by {growth_kib} KiB"


def test_output_buffer_keeps_everything_under_the_limit() -> None:
    """Output that fits in head plus tail is kept whole."""
    buffer = OutputBuffer(4, 6)
    for chunk in (b"abc", b"defg", b"hij"):
        buffer.write(chunk)
    assert (buffer.render(), buffer.dropped_bytes) == ("abcdefghij", 0)


def test_output_buffer_drops_the_middle() -> None:
    """Past head plus tail, the middle goes and a marker says how much."""
    buffer = OutputBuffer(4, 6)
    for chunk in (b"abc", b"defg", b"hijklm", b"nop", b"q"):
        buffer.write(chunk)
    assert buffer.dropped_bytes == 7
    assert buffer.render() == "abcd" + MSG_DROPPED.format(dropped=7) + "lmnopq"


def test_output_buffer_replaces_a_sequence_split_at_the_cut() -> None:
    """A UTF-8 sequence cut at the head's end decodes as a replacement."""
    buffer = OutputBuffer(2, 2)
    buffer.write("aé".encode() + b"xyz")
    assert buffer.render() == "a\ufffd" + MSG_DROPPED.format(dropped=2) + "yz"


@pytest.mark.parametrize(
    ("secrets", "expected"),
    [
        (["s3cret"], "token=*** again ***"),
        (["s3cret", "", "s3"], "token=*** again ***"),
        (["s3", "s3cret"], "token=*** again ***"),
        ([], "token=s3cret again s3cret"),
        (["*"], "token=s3cret again s3cret"),
    ],
)
def test_mask_secrets(secrets: list[str], expected: str) -> None:
    """Every non-empty secret is masked, longest first."""
    assert mask_secrets("token=s3cret again s3cret", secrets) == expected


def test_mask_secrets_does_not_mask_the_mask() -> None:
    """A secret made of asterisks does not eat into masks already written."""
    assert mask_secrets("ab *", ["ab", "*"]) == "*** ***"


# --- masking: no secret leaves the runner -----------------------------------------


def _record_and_flag(
    flag: Path, calls: list[tuple[str, int]]
) -> Callable[[str, int], None]:
    """Return an on_output that records its calls and then touches `flag`."""

    def on_output(output: str, dropped: int) -> None:
        calls.append((output, dropped))
        flag.touch()

    return on_output


def test_streamed_and_final_output_mask_the_specs_secrets(tmp_path: Path) -> None:
    """A script printing its secret: on_output and the result show *** only."""
    flag = tmp_path / "go"
    calls: list[tuple[str, int]] = []
    script = _write(
        tmp_path,
        "leak.py",
        WAITING_SCRIPT.replace('"first"', repr("token " + SECRET)).replace(
            '"second"', repr("again:" + SECRET + "!")
        ),
    )
    result = _run(
        tmp_path,
        script,
        str(flag),
        mask=(SECRET,),
        on_output=_record_and_flag(flag, calls),
        output_interval_seconds=0.05,
    )
    assert calls[0] == ("token ***\n", 0)
    assert [SECRET in output for output, _ in calls] == [False] * len(calls)
    assert (result.exit_code, result.output) == (0, "token ***\nagain:***!\n")


def test_a_secret_split_across_reads_is_masked_streamed_and_final(
    tmp_path: Path,
) -> None:
    """Its first part is masked while its rest may follow, then all of it."""
    flag = tmp_path / "go"
    calls: list[tuple[str, int]] = []
    script = _write(tmp_path, "split.py", SPLIT_SECRET_SCRIPT)
    result = _run(
        tmp_path,
        script,
        str(flag),
        mask=(SECRET,),
        on_output=_record_and_flag(flag, calls),
        output_interval_seconds=0.05,
    )
    assert calls[0] == ("token=***", 0)
    assert [SECRET[:4] in output for output, _ in calls] == [False] * len(calls)
    assert (result.exit_code, result.output) == (0, "token=*** and ***\n")


def test_a_start_error_masks_the_specs_secrets(tmp_path: Path) -> None:
    """The start error quotes the missing program; a secret in it is masked."""
    spec = ProcessSpec(
        argv=[str(tmp_path / SECRET)],
        cwd=str(tmp_path),
        env=BASE_ENV,
        timeout_seconds=5,
        mask=(SECRET,),
    )
    result = run_process(spec)
    assert result.exit_code is None
    assert result.error.startswith("could not start: ")
    assert SECRET not in result.error
    assert str(tmp_path / "***") in result.error


def test_output_buffer_masks_a_secret_split_across_chunks() -> None:
    """The rendered text is masked as a whole, whatever the chunks were."""
    buffer = OutputBuffer(100, 100, mask=["s3cret"])
    for chunk in (b"token=s3", b"cr", b"et\n"):
        buffer.write(chunk)
    assert buffer.render() == "token=***\n"


def test_output_buffer_masks_a_secret_across_head_and_tail() -> None:
    """Nothing dropped: head and tail join, and the secret between is masked."""
    buffer = OutputBuffer(8, 8, mask=["s3cret"])
    buffer.write(b"token=s3cret")
    assert (buffer.render(), buffer.dropped_bytes) == ("token=***", 0)


def test_output_buffer_cannot_mask_a_secret_cut_by_the_dropped_middle() -> None:
    """The documented limit: fragments either side of the marker stay."""
    buffer = OutputBuffer(4, 4, mask=["s3cret"])
    buffer.write(b"..s3cret..")
    assert buffer.render() == "..s3" + MSG_DROPPED.format(dropped=2) + "et.."


def test_output_buffer_masks_a_trailing_start_of_a_secret_while_open() -> None:
    """Open: the end may be a secret's first part. Closed: it was not."""
    buffer = OutputBuffer(100, 100, mask=["s3cret"])
    buffer.write(b"s3cret token=s3c")
    assert buffer.render(is_open=True) == "*** token=***"
    assert buffer.render() == "*** token=s3c"


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("token=s3c", ["s3cret"], "token=***"),
        ("token=ab", ["abc", "bcd"], "token=***"),
        ("token=b", ["abc", "bcd"], "token=***"),
        ("token=s3cret", ["s3cret"], "token=s3cret"),
        ("token=x", ["s3cret", ""], "token=x"),
        ("", ["s3cret"], ""),
    ],
)
def test_mask_open_end(text: str, secrets: list[str], expected: str) -> None:
    """The longest proper start of a secret that ends the text is masked."""
    assert mask_open_end(text, secrets) == expected


# Writes 64 KiB every 5 ms (at most ~13 MB/s) into the folder it is given,
# for 30 s unless ended first.
ARTIFACT_FLOOD_SCRIPT = """\
import pathlib, sys, time
block = b"x" * 65536
deadline = time.monotonic() + 30
with open(pathlib.Path(sys.argv[1]) / "big.bin", "wb") as out:
    while time.monotonic() < deadline:
        out.write(block)
        out.flush()
        time.sleep(0.005)
"""
MIB = 1024**2


def test_artifacts_past_the_limit_end_the_script_while_it_writes(
    tmp_path: Path,
) -> None:
    """Over 1 MiB the run is ended at once, the folder stays near the limit.

    Bound: the limit plus what the script writes between two measurements
    (0.1 s while the walk is cheap) and until SIGTERM lands: at ~13 MB/s
    about 1.5 MiB over; the test allows 8 MiB (0.6 s of writing) for a
    loaded machine.
    """
    folder = tmp_path / "artifacts"
    folder.mkdir()
    script = _write(tmp_path, "fill.py", ARTIFACT_FLOOD_SCRIPT)
    spec = ProcessSpec(
        argv=interpreter_argv(script, [str(folder)]),
        cwd=str(tmp_path),
        env=BASE_ENV,
        timeout_seconds=60,
        artifacts=FolderLimit(path=str(folder), max_bytes=MIB),
    )
    started = time.monotonic()
    result = run_process(spec)
    elapsed = time.monotonic() - started
    size = (folder / "big.bin").stat().st_size
    assert result.artifacts_too_large is True
    assert (result.timed_out, result.cancelled) == (False, False)
    assert result.exit_code == -signal.SIGTERM
    assert elapsed < 5.0
    assert MIB < size < 9 * MIB
    message = result.error
    assert message.startswith(
        "The artifacts folder passed the limit of 1048576 bytes "
        "(JOB_PORTAL_ARTIFACTS_MAX_BYTES) while the script ran: "
    )
    assert result.output == f"\n[portal] {message}\n"


def test_artifacts_under_the_limit_let_the_script_finish(tmp_path: Path) -> None:
    """A script that stays under the limit runs to its normal end."""
    folder = tmp_path / "artifacts"
    folder.mkdir()
    text = "import pathlib, sys\n(pathlib.Path(sys.argv[1]) / 'a').write_bytes(b'x')\n"
    spec = ProcessSpec(
        argv=interpreter_argv(_write(tmp_path, "small.py", text), [str(folder)]),
        cwd=str(tmp_path),
        env=BASE_ENV,
        timeout_seconds=30,
        artifacts=FolderLimit(path=str(folder), max_bytes=MIB),
    )
    result = run_process(spec)
    assert (result.exit_code, result.error) == (0, "")
    assert result.artifacts_too_large is False
