"""Field validators shared by the models, so admin, API and import agree."""

import re
from typing import Any

from django.core.exceptions import ValidationError

from jobs import conf, run_env
from jobs.schedule import ScheduleError, parse_schedule, parse_timezone
from jobs.script_files import script_dir_resolve, script_resolve
from jobs.script_paths import ScriptPathError

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

MSG_ARGS = "Arguments must be a list of strings."
MSG_ENV = "Environment must be an object of NAME: value strings."
MSG_ENV_NAME = "{name!r} is not a valid environment variable name."
MSG_EXIT_CODES = "Exit codes must be a list of whole numbers from 1 to 255."


def validate_timezone(value: str) -> None:
    """Refuse a name that is not an IANA timezone."""
    try:
        parse_timezone(value)
    except ScheduleError as exc:
        raise ValidationError(exc.message, code="timezone") from None


def validate_schedule_document(value: Any) -> None:
    """Refuse a schedule document the engine cannot parse, naming the field."""
    try:
        parse_schedule(value, default_timezone=conf.default_timezone())
    except ScheduleError as exc:
        raise ValidationError(str(exc), code="schedule") from None


def validate_args(value: Any) -> None:
    """Refuse anything but a list of strings."""
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise ValidationError(MSG_ARGS, code="args")


def validate_env(value: Any) -> None:
    """Refuse anything but a mapping of valid names to strings.

    Names that make other code run (`jobs.run_env`) are refused as well.
    """
    if not isinstance(value, dict) or not all(
        isinstance(v, str) for v in value.values()
    ):
        raise ValidationError(MSG_ENV, code="env")
    for name in value:
        if not ENV_NAME.match(name):
            raise ValidationError(MSG_ENV_NAME.format(name=name), code="env")
        refused = run_env.refused_message(name)
        if refused is not None:
            raise ValidationError(refused, code="env_refused")


def validate_exit_codes(value: Any) -> None:
    """Refuse anything but a list of exit codes 1..255."""
    if not isinstance(value, list) or not all(
        isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= 255 for c in value
    ):
        raise ValidationError(MSG_EXIT_CODES, code="exit_codes")


def validate_script_path(value: str) -> None:
    """Refuse a script path outside the scripts directory or of a bad kind."""
    try:
        script_resolve(value)
    except ScriptPathError as exc:
        raise ValidationError(str(exc), code="script") from None


def validate_working_dir(value: str) -> None:
    """Refuse a working directory outside the scripts directory."""
    if not value:
        return
    try:
        script_dir_resolve(value)
    except ScriptPathError as exc:
        raise ValidationError(str(exc), code="working_dir") from None


# --- secrets and run parameters (issue 4) ------------------------------------

# A secret becomes an environment variable under its name, so it must not
# shadow the run's context (JOB_RUN_ID, JOB_PARAM_*, ...) or name a variable
# the worker hides from scripts.
RESERVED_SECRET_PREFIXES = ("JOB_", "DJANGO_")
MSG_ENV_VARIABLE_NAME = (
    "{name!r} is not a valid environment variable name: use letters, digits "
    "and underscores, not starting with a digit."
)
MSG_RESERVED_NAME = (
    "{name!r} is reserved: names starting with {prefixes} are set by the portal."
)
MSG_PARAMETER_NAME = (
    "{name!r} is not a valid parameter name: use letters, digits and "
    "underscores, not starting with a digit (it becomes JOB_PARAM_<NAME>)."
)
MSG_REFUSED_SECRETS = "Secret {message}"
MSG_CHOICES = "Choices must be a list of different, non-empty strings."


def validate_secret_name(value: str) -> None:
    """Refuse a secret name that is not a usable environment variable name.

    Names that make other code run (`jobs.run_env`) are refused as well.
    """
    if not ENV_NAME.match(value or ""):
        raise ValidationError(
            MSG_ENV_VARIABLE_NAME.format(name=value), code="secret_name"
        )
    if value.upper().startswith(RESERVED_SECRET_PREFIXES):
        raise ValidationError(
            MSG_RESERVED_NAME.format(
                name=value, prefixes=", ".join(RESERVED_SECRET_PREFIXES)
            ),
            code="secret_name",
        )
    refused = run_env.refused_message(value)
    if refused is not None:
        raise ValidationError(refused, code="secret_name")


def validate_job_secret_names(names: Any) -> None:
    """Refuse giving a job secrets whose names make other code run.

    A secret saved before such names were refused, or planted in the
    database, must not reach a job either.
    """
    for name in names:
        refused = run_env.refused_message(str(name))
        if refused is not None:
            raise ValidationError(
                MSG_REFUSED_SECRETS.format(message=refused), code="secrets"
            )


def validate_parameter_name(value: str) -> None:
    """Refuse a parameter name that cannot become JOB_PARAM_<NAME>."""
    if not ENV_NAME.match(value or ""):
        raise ValidationError(
            MSG_PARAMETER_NAME.format(name=value), code="parameter_name"
        )


def validate_choices(value: Any) -> None:
    """Refuse anything but a list of different, non-empty strings."""
    if (
        not isinstance(value, list)
        or not all(isinstance(c, str) and c.strip() for c in value)
        or len(set(value)) != len(value)
    ):
        raise ValidationError(MSG_CHOICES, code="choices")
