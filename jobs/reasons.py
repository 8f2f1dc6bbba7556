"""Why a run ended as it did, as codes for programs beside words for people.

Pure: no Django imports. `JobRun.ReasonCode` is built from these constants,
and `JobRun.reason_code` stores one of them beside the human `reason`, so
that consumers (the misfire count, notifications, metrics) never match a
message's text. A run that succeeded has no reason and no code.
"""

from __future__ import annotations

# Scheduling: a slot that never became a run.
MISFIRE_FOLDED = "misfire_folded"
MISFIRE_SKIPPED = "misfire_skipped"
MISFIRE_CAP = "misfire_cap"
CONCURRENCY_FORBID = "concurrency_forbid"
SCHEDULE_ERROR = "schedule_error"
BLACKOUT = "blackout"
# Dependencies: the round's upstream outcomes can no longer satisfy the job.
UPSTREAM_FAILED = "upstream_failed"
# Blocked right before starting (`services.execution.run_prepare`).
PATH_REFUSED = "path_refused"
SCRIPT_UNAPPROVED = "script_unapproved"
SCRIPT_REJECTED = "script_rejected"
SCRIPT_BLOCKED = "script_blocked"
PARAMETERS_INVALID = "parameters_invalid"
SECRETS_UNREADABLE = "secrets_unreadable"
# The job's pre-run hook failed, so its script did not start (`jobs.hooks`).
PRE_HOOK_FAILED = "pre_hook_failed"
# Stopped by someone or something else.
REPLACED = "replaced"
CANCELLED_BY_USER = "cancelled_by_user"
MARKED_FAILED = "marked_failed"
WORKER_LOST = "worker_lost"
WORKER_RESTARTED = "worker_restarted"
SHUTDOWN = "shutdown"
# How the process itself ended.
TIMED_OUT = "timed_out"
EXIT_CODE = "exit_code"
SIGNAL = "signal"
START_FAILED = "start_failed"
WORKER_ERROR = "worker_error"
# The run's files: more artifacts than JOB_PORTAL_ARTIFACTS_MAX_BYTES allows.
ARTIFACTS_TOO_LARGE = "artifacts_too_large"
# The run's lease was not renewed in time: its supervisor ended the script.
LEASE_EXPIRED = "lease_expired"
# Why a job (not a run) was deactivated: the notifications circuit breaker
# paused it after N failures in a row. Not a run's reason, so not in LABELS.
CIRCUIT_OPEN = "circuit_open"
# History brought in by `import_legacy`.
LEGACY_FAILED = "legacy_failed"

LABELS = {
    MISFIRE_FOLDED: "Missed slot folded into a later run",
    MISFIRE_SKIPPED: "Missed slot skipped",
    MISFIRE_CAP: "Missed slot beyond the run-all cap",
    CONCURRENCY_FORBID: "Previous run still active (forbid)",
    SCHEDULE_ERROR: "Schedule could not be computed",
    BLACKOUT: "Inside a blackout window",
    UPSTREAM_FAILED: "Upstream outcome cannot satisfy the dependencies",
    PATH_REFUSED: "Script or folder refused",
    SCRIPT_UNAPPROVED: "Script not approved",
    SCRIPT_REJECTED: "Script rejected",
    SCRIPT_BLOCKED: "Blocked before starting",
    PARAMETERS_INVALID: "Parameters not valid",
    SECRETS_UNREADABLE: "Secrets unreadable",
    PRE_HOOK_FAILED: "Pre-run hook failed",
    REPLACED: "Replaced by a newer run",
    CANCELLED_BY_USER: "Cancelled",
    MARKED_FAILED: "Marked failed by a user",
    WORKER_LOST: "Worker stopped heart-beating",
    WORKER_RESTARTED: "Worker restarted",
    SHUTDOWN: "Worker shut down",
    TIMED_OUT: "Timed out",
    EXIT_CODE: "Non-zero exit code",
    SIGNAL: "Killed by a signal",
    START_FAILED: "Process could not start",
    WORKER_ERROR: "Worker error",
    ARTIFACTS_TOO_LARGE: "Artifacts over the size limit",
    LEASE_EXPIRED: "Lease expired",
    LEGACY_FAILED: "Failed in the legacy portal",
}


class CodedReason(str):
    """A human reason that carries its code: compares and prints as the text.

    Checks that answer "why may this run not start?" return one, so that the
    words stay what callers and tests compare while the code travels along.
    """

    code: str

    def __new__(cls, text: str, *, code: str) -> CodedReason:
        """Return `text` tagged with `code`."""
        reason = super().__new__(cls, text)
        reason.code = code
        return reason


def code_of(reason: str, *, default: str) -> str:
    """Return the code `reason` carries, or `default` for plain text."""
    return reason.code if isinstance(reason, CodedReason) else default
