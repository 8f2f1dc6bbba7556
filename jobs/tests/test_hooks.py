"""The pure hook rules: outcome of a failed pre-hook, env and output layout."""

from __future__ import annotations

from jobs import hooks, reasons
from jobs.policies import FAILED, SUCCEEDED, Outcome
from jobs.runner import ProcessResult, ProcessSpec


def result(code: int | None, output: str = "", **flags: bool) -> ProcessResult:
    """Return a process result ending with `code`."""
    return ProcessResult(
        exit_code=code,
        timed_out=flags.get("timed_out", False),
        cancelled=False,
        output=output,
        dropped_bytes=0,
        duration_seconds=0.1,
    )


def test_a_timed_out_pre_hook_fails_the_run_with_its_code() -> None:
    """A pre-hook that times out is a failure, said in words."""
    outcome = hooks.pre_hook_failed("pre.py", result(None, "slow", timed_out=True))
    assert (outcome.status, outcome.reason_code, outcome.reason) == (
        FAILED,
        reasons.PRE_HOOK_FAILED,
        "Pre-hook pre.py timed out; the script did not start.",
    )
    assert outcome.output == "----- pre-hook pre.py: timed out -----\nslow\n"


def test_the_post_hook_gets_status_and_exit_code() -> None:
    """JOB_STATUS and JOB_EXIT_CODE join the script's environment."""
    spec = ProcessSpec(argv=["x"], cwd="/", env={"A": "1"}, timeout_seconds=None)
    env = hooks.post_hook_spec(spec, Outcome(FAILED, exit_code=2)).env
    assert env == {"A": "1", "JOB_STATUS": "failed", "JOB_EXIT_CODE": "2"}
    env = hooks.post_hook_spec(spec, Outcome(FAILED)).env
    assert env["JOB_EXIT_CODE"] == ""


def test_output_without_hooks_is_the_scripts_alone() -> None:
    """No hooks, no headers."""
    outcome = Outcome(SUCCEEDED, exit_code=0, output="ok")
    assert hooks.with_hook_output(outcome, before="", after="") == outcome


def test_output_with_a_post_hook_gets_headers_and_a_line_break() -> None:
    """A script output without a final newline still ends its part."""
    outcome = Outcome(SUCCEEDED, exit_code=0, output="ok")
    after = hooks.section(hooks.POST, "post.py", result(1, "bye"))
    assert hooks.with_hook_output(outcome, before="", after=after).output == (
        "----- script -----\nok\n----- post-hook post.py: exited with 1 -----\nbye\n"
    )
