"""System checks for the portal's settings: name the variable and the problem.

Settings are read at start-up; a value of the wrong type or meaning is
reported here, by ``manage.py check`` and before every command, instead of
failing later with a traceback.
"""

import ipaddress
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.checks import Warning as CheckWarning

from jobportal import config_file
from jobs import crypto, secret_backends, supervisor
from jobs.schedule import ScheduleError, parse_timezone

EXTENSION = re.compile(r"^\.[A-Za-z0-9][A-Za-z0-9_.-]*$")

MSG_TIMEZONE = "JOB_PORTAL_TIMEZONE={value!r} is not a known IANA timezone."
MSG_SCRIPTS_DIR = (
    "JOB_PORTAL_SCRIPTS_DIR={value!r} does not exist or is not a directory."
)
MSG_NUMBER = "{name} must be a number {rule}; got {value!r}."
MSG_EXTENSIONS = (
    "JOB_PORTAL_ALLOWED_EXTENSIONS must be a comma-separated list of extensions "
    "like '.py,.sh'; {value!r} is not one."
)
MSG_LOG_LEVEL = "JOB_PORTAL_LOG_LEVEL={value!r} is not one of {levels}."

# (setting, minimum, rule in words); None means the value was not a number.
NUMBERS = (
    ("JOB_PORTAL_WORKER_POLL_INTERVAL", 0.01, "greater than 0 (seconds)"),
    ("JOB_PORTAL_WORKER_JOB_TIMEOUT", 1, "of whole seconds, at least 1"),
    ("JOB_PORTAL_WORKER_MAX_CONCURRENT", 1, "of whole runs, at least 1"),
    ("JOB_PORTAL_WORKER_LOST_AFTER", 1, "of seconds, at least 1"),
    ("JOB_PORTAL_WORKER_SHUTDOWN_GRACE", 0, "of seconds, 0 or more"),
    ("JOB_PORTAL_RUN_EVENT_RETENTION_DAYS", 1, "of whole days, at least 1"),
    ("JOB_PORTAL_SMTP_PORT", 1, "from 1 to 65535"),
)


def _raw(name: str) -> Any:
    """Return what the operator set, for the message (else the parsed value)."""
    from_file = getattr(settings, "JOB_PORTAL_CONFIG_VALUES", {})
    return os.environ.get(name, from_file.get(name, getattr(settings, name, None)))


@register()
def check_portal_settings(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Check every JOB_PORTAL_* setting whose meaning can be wrong."""
    errors: list[CheckMessage] = []
    try:
        parse_timezone(settings.JOB_PORTAL_TIMEZONE)
    except ScheduleError:
        errors.append(
            Error(
                MSG_TIMEZONE.format(value=settings.JOB_PORTAL_TIMEZONE), id="jobs.E001"
            )
        )
    scripts_dir = Path(settings.JOB_PORTAL_SCRIPTS_DIR)
    if not scripts_dir.is_dir():
        errors.append(
            Error(MSG_SCRIPTS_DIR.format(value=str(scripts_dir)), id="jobs.E002")
        )
    for name, minimum, rule in NUMBERS:
        value = getattr(settings, name)
        upper_ok = name != "JOB_PORTAL_SMTP_PORT" or (
            value is not None and value <= 65535
        )
        if value is None or value < minimum or not upper_ok:
            errors.append(
                Error(
                    MSG_NUMBER.format(name=name, rule=rule, value=_raw(name)),
                    id="jobs.E003",
                )
            )
    extensions = settings.JOB_PORTAL_ALLOWED_EXTENSIONS
    if not extensions or not all(EXTENSION.match(ext) for ext in extensions):
        errors.append(
            Error(MSG_EXTENSIONS.format(value=",".join(extensions)), id="jobs.E004")
        )
    if settings.JOB_PORTAL_LOG_LEVEL not in settings.LOG_LEVELS:
        errors.append(
            Error(
                MSG_LOG_LEVEL.format(
                    value=settings.JOB_PORTAL_LOG_LEVEL,
                    levels=", ".join(settings.LOG_LEVELS),
                ),
                id="jobs.E005",
            )
        )
    return errors


# --- encryption key for secrets (issue 4) ------------------------------------

MSG_ENCRYPTION_KEY_DEBUG = (
    "JOB_PORTAL_ENCRYPTION_KEY is not set: secrets cannot be saved or given to "
    "scripts until it is."
)


@register()
def check_encryption_key(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Check JOB_PORTAL_ENCRYPTION_KEY: required outside DEBUG, always well-formed."""
    raw = settings.JOB_PORTAL_ENCRYPTION_KEY
    if not (raw or "").strip():
        if settings.DEBUG:
            return [CheckWarning(MSG_ENCRYPTION_KEY_DEBUG, id="jobs.W010")]
        return [Error(crypto.MSG_KEY_MISSING, id="jobs.E010")]
    try:
        crypto.parse_keys(raw)
    except crypto.EncryptionKeyError as exc:
        return [Error(str(exc), id="jobs.E011")]
    return []


# --- retention (issue 14) --------------------------------------------------------

# (setting, minimum, rule in words)
RETENTION_NUMBERS = (
    ("JOB_PORTAL_RETENTION_DAYS", 0, "of whole days, 0 (no limit) or more"),
    ("JOB_PORTAL_RETENTION_RUNS", 0, "of whole runs, 0 (no limit) or more"),
    ("JOB_PORTAL_OUTPUT_RETENTION_DAYS", 0, "of whole days, 0 (kept) or more"),
    ("JOB_PORTAL_RETENTION_INTERVAL", 1, "of seconds, at least 1"),
    ("JOB_PORTAL_RETENTION_BATCH", 1, "of whole rows, at least 1"),
    ("JOB_PORTAL_ARTIFACTS_MAX_BYTES", 1, "of bytes, at least 1"),
    ("JOB_PORTAL_ARTIFACT_RETENTION_DAYS", 0, "of whole days, 0 (kept) or more"),
)


# --- /metrics access (issue 14) ----------------------------------------------

MSG_METRICS_IP = (
    "JOB_PORTAL_METRICS_ALLOWED_IPS: {value!r} is not an IP address or network "
    "(e.g. 10.0.0.5 or 10.0.0.0/24)."
)
MSG_METRICS_BEARER_SHORT = (
    "JOB_PORTAL_METRICS_TOKEN is too short ({length} characters): use at least "
    "{minimum} (e.g. python -c 'import secrets; print(secrets.token_urlsafe())')."
)
METRICS_TOKEN_MIN_LENGTH = 16


@register()
def check_metrics_access(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Check the /metrics token's length and the allowed addresses' syntax."""
    errors: list[CheckMessage] = []
    for value in settings.JOB_PORTAL_METRICS_ALLOWED_IPS:
        try:
            ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            errors.append(Error(MSG_METRICS_IP.format(value=value), id="jobs.E160"))
    token = settings.JOB_PORTAL_METRICS_TOKEN
    if token and len(token) < METRICS_TOKEN_MIN_LENGTH:
        errors.append(
            Error(
                MSG_METRICS_BEARER_SHORT.format(
                    length=len(token), minimum=METRICS_TOKEN_MIN_LENGTH
                ),
                id="jobs.E161",
            )
        )
    return errors


# --- notifications (issue 12) ------------------------------------------------

MSG_CIRCUIT_BREAKER = (
    "JOB_PORTAL_CIRCUIT_BREAKER_AFTER must be a whole number of failures, 0 (off) "
    "or more; got {value!r}."
)
MSG_PUBLIC_URL = (
    "JOB_PORTAL_PUBLIC_URL must be an http(s) address like "
    "'https://jobs.example.com'; got {value!r}."
)


@register()
def check_notification_settings(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Check the circuit breaker default and the public address."""
    errors: list[CheckMessage] = []
    value = settings.JOB_PORTAL_CIRCUIT_BREAKER_AFTER
    if value is None or value < 0:
        raw = _raw("JOB_PORTAL_CIRCUIT_BREAKER_AFTER")
        errors.append(Error(MSG_CIRCUIT_BREAKER.format(value=raw), id="jobs.E150"))
    url = str(settings.JOB_PORTAL_PUBLIC_URL)
    if not url.lower().startswith(("http://", "https://")):
        errors.append(Error(MSG_PUBLIC_URL.format(value=url), id="jobs.E151"))
    return errors


# --- cluster-wide limits (issue 13) ------------------------------------------

MSG_MAX_CONCURRENT_TOTAL = (
    "JOB_PORTAL_MAX_CONCURRENT_TOTAL must be a whole number of runs, 0 (no cap) "
    "or more; got {value!r}."
)


@register()
def check_cluster_limits(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Check JOB_PORTAL_MAX_CONCURRENT_TOTAL: empty, 0 or a positive whole number."""
    name = "JOB_PORTAL_MAX_CONCURRENT_TOTAL"
    value = getattr(settings, name)
    if value is None or value < 0:
        return [
            Error(MSG_MAX_CONCURRENT_TOTAL.format(value=_raw(name)), id="jobs.E120")
        ]
    return []


@register()
def check_retention_settings(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Check the retention and artifact numbers (jobs.E170)."""
    errors: list[CheckMessage] = []
    for name, minimum, rule in RETENTION_NUMBERS:
        value = getattr(settings, name)
        if value is None or value < minimum:
            errors.append(
                Error(
                    MSG_NUMBER.format(name=name, rule=rule, value=_raw(name)),
                    id="jobs.E170",
                )
            )
    return errors


# --- the run supervisor (issue 13) --------------------------------------------


@register()
def check_run_supervisor(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Check that this system can supervise runs (Linux: prctl and /proc)."""
    reason = supervisor.unsupported_reason()
    return [Error(reason, id="jobs.E110")] if reason else []


# --- configuration file and secret backends (issue 16) ----------------------


@register()
def check_config_file(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Refuse keys of JOB_PORTAL_CONFIG_FILE that the settings never read."""
    path = getattr(settings, "JOB_PORTAL_CONFIG_FILE", "")
    if not path:
        return []
    messages = config_file.unknown_keys(
        settings.JOB_PORTAL_CONFIG_VALUES,
        known=settings.JOB_PORTAL_SETTINGS_READ,
        path=path,
    )
    return [Error(message, id="jobs.E210") for message in messages]


@register()
def check_vault_addr(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Check JOB_PORTAL_VAULT_ADDR: empty (no Vault) or an http(s) address."""
    addr = str(getattr(settings, "JOB_PORTAL_VAULT_ADDR", "") or "")
    if addr and not addr.lower().startswith(("http://", "https://")):
        return [
            Error(secret_backends.MSG_VAULT_ADDR.format(value=addr), id="jobs.E211")
        ]
    return []


# --- embedding (issue 16) ----------------------------------------------------

MSG_PYTHON = (
    "JOB_PORTAL_PYTHON={value!r} is not an executable file; give the absolute "
    "path of the Python that runs .py jobs, or leave it empty for the worker's own."
)


@register()
def check_job_python(
    app_configs: Sequence[Any] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Check JOB_PORTAL_PYTHON: empty, or an absolute path to an executable file."""
    value = str(getattr(settings, "JOB_PORTAL_PYTHON", "") or "")
    if not value:
        return []
    path = Path(value)
    if path.is_absolute() and path.is_file() and os.access(path, os.X_OK):
        return []
    return [Error(MSG_PYTHON.format(value=value), id="jobs.E200")]
