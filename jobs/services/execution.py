"""Prepare a claimed run for the process runner: checks, argv, cwd, environment.

`run_prepare` decides once whether a claimed run may start and, if so,
builds everything the runner needs; it reads but never writes the run.
`run_begin` is the write that follows when the run starts.

Paths are resolved again right before each run (inside the scripts
directory), because the file system may have changed since the job was
saved. The script's environment is the worker's own minus the portal's
settings and secrets, plus the job's variables and the run's context.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError

from jobs import conf, reasons, run_env
from jobs.crypto import EncryptionKeyError
from jobs.folder_size import FolderLimit
from jobs.models import JobRun
from jobs.runner import ProcessSpec, interpreter_argv
from jobs.script_files import script_dir_resolve, script_resolve
from jobs.script_paths import ScriptPathError
from jobs.services import probes
from jobs.services.approval import script_block_reason
from jobs.services.parameters import parameters_effective, parameters_error_text
from jobs.services.secrets import SecretUnreadableError, job_secret_values

logger = logging.getLogger(__name__)

MSG_BLOCKED_PATH = "The script cannot run: {error}"
MSG_BLOCKED_PARAMETERS = "The run's parameters are not valid for the job: {errors}"
MSG_BLOCKED_SECRETS = "The job's secrets cannot be given to the script: {error}"
MSG_BLOCKED_HOOK = "The {part} cannot run: {error}"
# The worker's variables a script must never see: the portal's settings
# (its secret key and database URL among them) and Django's.
HIDDEN_PREFIXES = ("JOB_PORTAL_", "DJANGO_")
HIDDEN_NAMES = frozenset({"DATABASE_URL"})
_PARAM_NAME = re.compile(r"[^A-Z0-9_]")


@dataclass(frozen=True)
class Blocked:
    """A claimed run that may not start: why in words, and as a code.

    `code` is one of `jobs.reasons`' blocked codes (`PATH_REFUSED`, ...).
    """

    reason: str
    code: str


@dataclass(frozen=True)
class Hook:
    """A job's pre- or post-run hook ready to start: its path and process."""

    path: str
    spec: ProcessSpec


@dataclass(frozen=True)
class Prepared:
    """A claimed run ready to start: its process and its effective parameters.

    `pre_hook` and `post_hook` are the job's hooks (`jobs.hooks`), if any.
    """

    spec: ProcessSpec
    parameters: dict[str, Any]
    pre_hook: Hook | None = None
    post_hook: Hook | None = None


def run_prepare(
    *,
    run: JobRun,
    now: datetime,
    python: str = sys.executable,
    kill_grace_seconds: float = 5.0,
    environ: Mapping[str, str] | None = None,
) -> Blocked | Prepared:
    """Return why `run` may not start at `now`, or what to execute for it.

    The one place that decides whether a claimed run starts, each check
    done once: path safety, then script approval (the file is hashed now
    and compared with the approved hash, DESIGN.md "Scripts and approval"),
    then the run's parameters (declared defaults filled in), then the job's
    secrets (decrypted once: for the script's environment and as the
    values the runner masks). The run is not changed: `run_begin` stores
    the effective parameters when the run starts.
    """
    try:
        script = _script(run)
        cwd = _working_dir(run, script)
    except ScriptPathError as exc:
        return Blocked(MSG_BLOCKED_PATH.format(error=exc), reasons.PATH_REFUSED)
    reason = script_block_reason(script_path=run.job.script, now=now)
    if reason is not None:
        code = reasons.code_of(reason, default=reasons.SCRIPT_BLOCKED)
        return Blocked(str(reason), code)
    try:
        parameters = _effective_parameters(run)
    except ValidationError as exc:
        text = parameters_error_text(exc)
        return Blocked(
            MSG_BLOCKED_PARAMETERS.format(errors=text), reasons.PARAMETERS_INVALID
        )
    try:
        secrets = run_secret_values(run=run)
    except (SecretUnreadableError, EncryptionKeyError) as exc:
        return Blocked(
            MSG_BLOCKED_SECRETS.format(error=exc), reasons.SECRETS_UNREADABLE
        )
    spec = _spec(
        run,
        script=script,
        cwd=cwd,
        parameters=parameters,
        secrets=secrets,
        python=python,
        kill_grace_seconds=kill_grace_seconds,
        environ=os.environ if environ is None else environ,
    )
    hooks: dict[str, Hook | None] = {}
    for part, path in (
        ("pre-hook", run.job.pre_hook),
        ("post-hook", run.job.post_hook),
    ):
        hook = _hook(part, path, spec=spec, python=python, now=now)
        if isinstance(hook, Blocked):
            return hook
        hooks[part] = hook
    return Prepared(
        spec=spec,
        parameters=parameters,
        pre_hook=hooks["pre-hook"],
        post_hook=hooks["post-hook"],
    )


def _hook(
    part: str, path: str, *, spec: ProcessSpec, python: str, now: datetime
) -> Hook | Blocked | None:
    """Return a hook's process (the script's, another file), why not, or None.

    A hook is a script like the job's: inside the scripts folder and, when
    approval is required, approved by its content hash; it runs in the
    script's folder with its environment, timeout and output masking, but
    without the artifacts limit while it runs.
    """
    if not path:
        return None
    try:
        resolved = script_resolve(path)
    except ScriptPathError as exc:
        message = MSG_BLOCKED_HOOK.format(part=part, error=exc)
        return Blocked(message, reasons.PATH_REFUSED)
    reason = script_block_reason(script_path=path, now=now)
    if reason is not None:
        code = reasons.code_of(reason, default=reasons.SCRIPT_BLOCKED)
        return Blocked(MSG_BLOCKED_HOOK.format(part=part, error=reason), code)
    argv = interpreter_argv(resolved, [], python=python)
    # Not ended by the artifacts limit: a post-hook cleans up after a script
    # that filled the folder (the limit still applies to what is kept).
    return Hook(path=path, spec=dataclasses.replace(spec, argv=argv, artifacts=None))


def run_begin(*, run: JobRun, prepared: Prepared) -> JobRun:
    """Store `prepared`'s effective parameters on `run`; create its artifacts folder.

    Called once `run_prepare` allowed the run, right before its process
    starts: the run's history then shows the parameters the script got,
    declared defaults included.
    """
    if prepared.parameters != run.parameters:
        JobRun.objects.filter(pk=run.pk).update(parameters=prepared.parameters)
        run.parameters = prepared.parameters
    run_artifacts_dir(run=run).mkdir(parents=True, exist_ok=True)
    return run


def run_environment(
    *,
    run: JobRun,
    base: Mapping[str, str],
    artifacts_dir: Path,
    parameters: Mapping[str, Any],
    secrets: Mapping[str, str],
) -> dict[str, str]:
    """Return the script's environment for `run`.

    `base` (the worker's environment) without the portal's own variables,
    then the job's variables, then its decrypted `secrets` under their
    names, then the run's context and `parameters`, which always win.
    Variables that make other code run (`jobs.run_env`) are dropped from
    all three, whatever the database holds (validation refuses them at
    save; a row written around it must not matter), keeping only the
    worker's own `PATH`; the names dropped from the job are logged.
    """
    env, _ = run_env.without_refused(
        {
            name: value
            for name, value in base.items()
            if not name.startswith(HIDDEN_PREFIXES) and name not in HIDDEN_NAMES
        },
        keep=run_env.WORKER_KEPT,
    )
    job_env, dropped = run_env.without_refused(
        {str(name): str(value) for name, value in run.job.env.items()}
    )
    job_secrets, dropped_secrets = run_env.without_refused(secrets)
    if dropped or dropped_secrets:
        logger.warning(
            "Run %s of job %s: refused variables dropped from its environment "
            "(%s) and secrets (%s)",
            run.pk,
            run.job_id,
            ", ".join(dropped) or "none",
            ", ".join(dropped_secrets) or "none",
        )
    env.update(job_env)
    env.update(job_secrets)
    env.update(
        {
            "JOB_RUN_ID": str(run.pk),
            "JOB_NAME": run.job.name,
            "JOB_SCHEDULED_FOR": run.scheduled_for.astimezone(UTC).isoformat(),
            "JOB_ATTEMPT": str(run.attempt),
            "JOB_ARTIFACTS_DIR": str(artifacts_dir),
        }
    )
    for name, value in parameters.items():
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
    return conf.artifacts_dir() / str(run.pk)


def _script(run: JobRun) -> Path:
    return script_resolve(run.job.script)


def _working_dir(run: JobRun, script: Path) -> Path:
    if not run.job.working_dir:
        return script.parent
    return script_dir_resolve(run.job.working_dir)


def _spec(
    run: JobRun,
    *,
    script: Path,
    cwd: Path,
    parameters: dict[str, Any],
    secrets: dict[str, str],
    python: str,
    kill_grace_seconds: float,
    environ: Mapping[str, str],
) -> ProcessSpec:
    """Return the process for `run`; the runner masks the secrets' values."""
    timeout = run.job.timeout_seconds or conf.worker_job_timeout_seconds()
    args = [str(arg) for arg in run.job.args]
    return ProcessSpec(
        argv=interpreter_argv(script, args, python=python),
        cwd=str(cwd),
        env=run_environment(
            run=run,
            base=environ,
            artifacts_dir=run_artifacts_dir(run=run),
            parameters=parameters,
            secrets=secrets,
        ),
        timeout_seconds=float(timeout) if timeout else None,
        kill_grace_seconds=kill_grace_seconds,
        mask=tuple(secrets.values()),
        artifacts=FolderLimit(
            path=str(run_artifacts_dir(run=run)), max_bytes=conf.artifacts_max_bytes()
        ),
    )
