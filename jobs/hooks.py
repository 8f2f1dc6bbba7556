"""Pre- and post-run hooks: their outcome rules and how their output reads.

Pure Python. A job may name a pre-run hook (its script starts only if the
hook exits 0; otherwise the run fails with `reasons.PRE_HOOK_FAILED`) and a
post-run hook (runs after the script whatever the outcome, with
`JOB_STATUS` and `JOB_EXIT_CODE`). Hooks run like the job's script (same
environment, folder, timeout and output rules); their output is kept with
the run's, each part under a header line.
"""

from __future__ import annotations

import dataclasses

from jobs import reasons
from jobs.policies import FAILED, Outcome
from jobs.runner import ProcessResult, ProcessSpec

PRE = "pre-hook"
POST = "post-hook"
SCRIPT = "script"
HEADER = "----- {part} {path}: {ending} -----\n"
SCRIPT_HEADER = "----- script -----\n"
MSG_PRE_FAILED = "Pre-hook {path} {ending}; the script did not start."


def ending(result: ProcessResult) -> str:
    """Return how a hook's process ended, in words."""
    if result.cancelled:
        return "was cancelled"
    if result.timed_out:
        return "timed out"
    if result.exit_code is None:
        return f"could not start ({result.error or 'no exit code'})"
    return f"exited with {result.exit_code}"


def succeeded(result: ProcessResult) -> bool:
    """Return True if a hook's process exited 0."""
    return result.exit_code == 0 and not (result.timed_out or result.cancelled)


def section(part: str, path: str, result: ProcessResult) -> str:
    """Return a hook's output under its header line, ending in a newline."""
    text = result.output
    if text and not text.endswith("\n"):
        text += "\n"
    return HEADER.format(part=part, path=path, ending=ending(result)) + text


def pre_hook_failed(path: str, result: ProcessResult) -> Outcome:
    """Return the outcome of a run whose pre-hook failed (script not started)."""
    return Outcome(
        FAILED,
        exit_code=None,
        output=section(PRE, path, result),
        dropped_bytes=result.dropped_bytes,
        reason=MSG_PRE_FAILED.format(path=path, ending=ending(result)),
        reason_code=reasons.PRE_HOOK_FAILED,
    )


def post_hook_spec(spec: ProcessSpec, outcome: Outcome) -> ProcessSpec:
    """Return the post-hook's process with the run's outcome in its environment."""
    env = {
        **spec.env,
        "JOB_STATUS": outcome.status,
        "JOB_EXIT_CODE": "" if outcome.exit_code is None else str(outcome.exit_code),
    }
    return dataclasses.replace(spec, env=env)


def with_hook_output(outcome: Outcome, *, before: str, after: str) -> Outcome:
    """Return `outcome` with the hooks' sections around the script's output."""
    if not before and not after:
        return outcome
    script = SCRIPT_HEADER + outcome.output if before or after else outcome.output
    if after and script and not script.endswith("\n"):
        script += "\n"
    return dataclasses.replace(outcome, output=before + script + after)
