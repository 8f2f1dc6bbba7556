"""Prepare a claimed run for the process runner: checks, argv, cwd, environment.

Paths are resolved again right before each run (inside the scripts
directory), because the file system may have changed since the job was
saved. The script's environment is the worker's own minus the portal's
settings and secrets, plus the job's variables and the run's context.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from jobs import reasons
from jobs.crypto import EncryptionKeyError
from jobs.models import JobRun
from jobs.runner import ProcessSpec, interpreter_argv
from jobs.script_paths import ScriptPathError, resolve_script
from jobs.services import probes
from jobs.services.approval import script_block_reason
from jobs.services.parameters import parameters_effective, parameters_error_text
from jobs.services.secrets import SecretUnreadableError, job_secret_values

MSG_BLOCKED_PATH = "The script cannot run: {error}"
MSG_BLOCKED_PARAMETERS = "The run's parameters are not valid for the job: {errors}"
MSG_BLOCKED_SECRETS = "The job's secrets cannot be given to the script: {error}"
# The worker's variables a script must never see: the portal's settings
# (its secret key and database URL among them) and Django's.
HIDDEN_PREFIXES = ("JOB_PORTAL_", "DJANGO_")
HIDDEN_NAMES = frozenset({"DATABASE_URL"})
_PARAM_NAME = re.compile(r"[^A-Z0-9_]")


def run_preflight(*, run: JobRun, now: datetime | None = None) -> str | None:
    """Return why `run` may not start now (a `CodedReason`), or None if it may.

    The one place that decides whether a claimed run starts: path safety,
    then script approval (the file is hashed now and compared with the
    approved hash, DESIGN.md "Scripts and approval"), then the run's
    parameters (declared defaults are filled in and stored on the run), then
    the job's secrets (each must decrypt).
    """
    try:
        script = _script(run)
        _working_dir(run, script)
    except ScriptPathError as exc:
        return reasons.CodedReason(
            MSG_BLOCKED_PATH.format(error=exc), code=reasons.PATH_REFUSED
        )
    reason = script_block_reason(script_path=run.job.script, now=now or timezone.now())
    if reason is not None:
        return reason
    try:
        parameters = _effective_parameters(run)
    except ValidationError as exc:
        return reasons.CodedReason(
            MSG_BLOCKED_PARAMETERS.format(errors=parameters_error_text(exc)),
            code=reasons.PARAMETERS_INVALID,
        )
    if parameters != run.parameters:
        JobRun.objects.filter(pk=run.pk).update(parameters=parameters)
        run.parameters = parameters
    try:
        run_secret_values(run=run)
    except (SecretUnreadableError, EncryptionKeyError) as exc:
        return reasons.CodedReason(
            MSG_BLOCKED_SECRETS.format(error=exc), code=reasons.SECRETS_UNREADABLE
        )
    return None


def run_process_spec(
    *,
    run: JobRun,
    python: str = sys.executable,
    kill_grace_seconds: float = 5.0,
    environ: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> ProcessSpec:
    """Return what to execute for `run`; create its artifacts folder.

    `secrets` are the job's decrypted secrets if the caller has them
    already (read here otherwise). Raise `ScriptPathError` if the script or
    working directory no longer resolves inside the scripts directory.
    """
    job = run.job
    script = _script(run)
    artifacts = run_artifacts_dir(run=run)
    artifacts.mkdir(parents=True, exist_ok=True)
    timeout = job.timeout_seconds or settings.JOB_PORTAL_WORKER_JOB_TIMEOUT
    return ProcessSpec(
        argv=interpreter_argv(script, [str(arg) for arg in job.args], python=python),
        cwd=str(_working_dir(run, script)),
        env=run_environment(
            run=run,
            base=os.environ if environ is None else environ,
            artifacts_dir=artifacts,
            secrets=secrets,
        ),
        timeout_seconds=float(timeout) if timeout else None,
        kill_grace_seconds=kill_grace_seconds,
    )


def run_environment(
    *,
    run: JobRun,
    base: Mapping[str, str],
    artifacts_dir: Path,
    secrets: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return the script's environment for `run`.

    `base` (the worker's environment) without the portal's own variables,
    then the job's variables, then its secrets under their names, then the
    run's context, which always wins.
    """
    env = {
        name: value
        for name, value in base.items()
        if not name.startswith(HIDDEN_PREFIXES) and name not in HIDDEN_NAMES
    }
    env.update({str(name): str(value) for name, value in run.job.env.items()})
    # Decrypted only here, for the script; the stored output masks them.
    env.update(run_secret_values(run=run) if secrets is None else secrets)
    env.update(
        {
            "JOB_RUN_ID": str(run.pk),
            "JOB_NAME": run.job.name,
            "JOB_SCHEDULED_FOR": run.scheduled_for.astimezone(UTC).isoformat(),
            "JOB_ATTEMPT": str(run.attempt),
            "JOB_ARTIFACTS_DIR": str(artifacts_dir),
        }
    )
    for name, value in (run.parameters or {}).items():
        text = value if isinstance(value, str) else json.dumps(value)
        env["JOB_PARAM_" + _PARAM_NAME.sub("_", str(name).upper())] = text
    return env


def run_secret_values(*, run: JobRun) -> dict[str, str]:
    """Return the decrypted secrets of `run`'s job, {name: value}.

    Most jobs have none: a plain probe answers that without the ORM.
    """
    if not probes.job_has_secrets(job_id=run.job_id):
        return {}
    return job_secret_values(job=run.job)


def _effective_parameters(run: JobRun) -> dict[str, Any]:
    """Return the parameters the script gets (declared defaults filled in)."""
    values = run.parameters
    if isinstance(values, Mapping) and not probes.job_has_parameters(job_id=run.job_id):
        # Nothing declared: the values accepted when queueing pass through.
        return dict(values)
    return parameters_effective(job=run.job, values=run.parameters)


def run_artifacts_dir(*, run: JobRun) -> Path:
    """Return the folder where `run` may leave files."""
    return Path(settings.JOB_PORTAL_ARTIFACTS_DIR) / str(run.pk)


def _script(run: JobRun) -> Path:
    return resolve_script(
        settings.JOB_PORTAL_SCRIPTS_DIR,
        run.job.script,
        allowed_extensions=settings.JOB_PORTAL_ALLOWED_EXTENSIONS,
    )


def _working_dir(run: JobRun, script: Path) -> Path:
    if not run.job.working_dir:
        return script.parent
    return resolve_script(
        settings.JOB_PORTAL_SCRIPTS_DIR, run.job.working_dir, directory=True
    )
