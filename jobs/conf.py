"""The portal's settings, read at call time: one typed accessor per setting.

Code outside ``jobportal/settings.py`` reads a ``JOB_PORTAL_*`` setting
through these functions, never ``settings.JOB_PORTAL_*`` directly (a test
holds that; ``jobs/checks.py`` is the exception: it validates the raw
values). Each call reads Django's settings afresh, so pytest-django's
``settings`` fixture and ``override_settings`` work as before. A number left
as None by ``settings.py`` (a bad value, reported by the system checks)
falls back to its default in ``JOB_PORTAL_DEFAULTS``, stated once there.
"""

import sys
from pathlib import Path

from django.conf import settings


def _default(name: str) -> float:
    return settings.JOB_PORTAL_DEFAULTS[name]


def _positive_or_default(name: str) -> float:
    """Return the setting `name`, or its default when unset, bad or zero."""
    return getattr(settings, name) or _default(name)


def scripts_dir() -> Path:
    """Return the folder scripts are resolved in (JOB_PORTAL_SCRIPTS_DIR)."""
    return Path(settings.JOB_PORTAL_SCRIPTS_DIR)


def job_python() -> str:
    """Return the interpreter that runs ``.py`` jobs (JOB_PORTAL_PYTHON).

    Unset or empty: the worker's own interpreter. Optional for a host
    project, so a missing setting reads as unset.
    """
    return str(getattr(settings, "JOB_PORTAL_PYTHON", "") or sys.executable)


def allowed_extensions() -> tuple[str, ...]:
    """Return the script extensions allowed, as configured (not lowered)."""
    return tuple(settings.JOB_PORTAL_ALLOWED_EXTENSIONS)


def artifacts_dir() -> Path:
    """Return the folder that holds each run's artifacts folder."""
    return Path(settings.JOB_PORTAL_ARTIFACTS_DIR)


def default_timezone() -> str:
    """Return the IANA timezone of jobs and schedules that name none."""
    return str(settings.JOB_PORTAL_TIMEZONE)


def require_script_approval() -> bool:
    """Return whether a script must be approved before it runs."""
    return bool(settings.JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL)


def encryption_keys() -> str:
    """Return the raw, comma-separated Fernet keys for secrets at rest."""
    return str(settings.JOB_PORTAL_ENCRYPTION_KEY)


def worker_poll_seconds() -> float:
    """Return the longest a worker waits between cycles."""
    return float(_positive_or_default("JOB_PORTAL_WORKER_POLL_INTERVAL"))


def worker_max_concurrent() -> int:
    """Return how many runs one worker executes at once."""
    return int(_positive_or_default("JOB_PORTAL_WORKER_MAX_CONCURRENT"))


def worker_job_timeout_seconds() -> float | None:
    """Return the time limit of a job that sets none; None: no limit.

    A bad value reads as None (reported by the system checks), as before.
    """
    value: float | None = settings.JOB_PORTAL_WORKER_JOB_TIMEOUT
    return value


def worker_lost_after_seconds() -> float:
    """Return how long a silent worker lives before it counts as lost."""
    return float(_positive_or_default("JOB_PORTAL_WORKER_LOST_AFTER"))


def worker_shutdown_grace_seconds() -> float:
    """Return how long running jobs may finish on shutdown (0 is allowed)."""
    value = settings.JOB_PORTAL_WORKER_SHUTDOWN_GRACE
    name = "JOB_PORTAL_WORKER_SHUTDOWN_GRACE"
    return float(_default(name) if value is None else value)


def run_event_retention_days() -> int:
    """Return how many days run events are kept at most."""
    return int(_positive_or_default("JOB_PORTAL_RUN_EVENT_RETENTION_DAYS"))


def metrics_token() -> str:
    """Return the bearer token /metrics asks for ("" : none)."""
    return str(settings.JOB_PORTAL_METRICS_TOKEN)


def metrics_allowed_ips() -> tuple[str, ...]:
    """Return the addresses or networks /metrics answers (empty: see README)."""
    return tuple(str(ip).strip() for ip in settings.JOB_PORTAL_METRICS_ALLOWED_IPS)


def metrics_per_job() -> bool:
    """Return whether /metrics has a series per job (opt-in: 10k jobs)."""
    return bool(settings.JOB_PORTAL_METRICS_PER_JOB)


def smtp_defaults() -> dict[str, object]:
    """Return the JOB_PORTAL_SMTP_* server settings email channels start from."""
    return {
        "host": str(settings.JOB_PORTAL_SMTP_HOST),
        "port": int(settings.JOB_PORTAL_SMTP_PORT or 25),
        "username": str(settings.JOB_PORTAL_SMTP_USER),
        "password": str(settings.JOB_PORTAL_SMTP_PASSWORD),
        "use_tls": bool(settings.JOB_PORTAL_SMTP_TLS),
        "use_ssl": bool(settings.JOB_PORTAL_SMTP_SSL),
        "from_email": str(settings.JOB_PORTAL_SMTP_FROM),
    }


def default_webhook_url() -> str:
    """Return JOB_PORTAL_WEBHOOK_URL (empty: no default webhook channel)."""
    return str(settings.JOB_PORTAL_WEBHOOK_URL)


def public_url() -> str:
    """Return the portal's address as people reach it, without a final slash."""
    return str(settings.JOB_PORTAL_PUBLIC_URL).rstrip("/")


def circuit_breaker_after() -> int:
    """Return the failures in a row that pause a job by default (0: never)."""
    value = settings.JOB_PORTAL_CIRCUIT_BREAKER_AFTER
    return max(0, int(value or 0))


def max_concurrent_total() -> int | None:
    """Return the cap on runs executing at once across all workers; None: none.

    0 (the default) means no cap; a bad value, reported by check jobs.E120,
    reads as no cap too, as before the setting existed.
    """
    value = settings.JOB_PORTAL_MAX_CONCURRENT_TOTAL
    return int(value) if value and value > 0 else None


def _whole_or_default(name: str) -> int:
    """Return a count that may be 0, or its default when unset or bad."""
    value = getattr(settings, name)
    return int(_default(name) if value is None or value < 0 else value)


def retention_days() -> int:
    """Return the days finished runs are kept (0: no limit by age)."""
    return _whole_or_default("JOB_PORTAL_RETENTION_DAYS")


def retention_runs() -> int:
    """Return the finished runs kept per job (0: no limit by count)."""
    return _whole_or_default("JOB_PORTAL_RETENTION_RUNS")


def output_retention_days() -> int:
    """Return the days a finished run's output is kept (0: kept with the row)."""
    return _whole_or_default("JOB_PORTAL_OUTPUT_RETENTION_DAYS")


def retention_interval_seconds() -> float:
    """Return the least time between two retention steps of a worker."""
    return float(_positive_or_default("JOB_PORTAL_RETENTION_INTERVAL"))


def retention_batch() -> int:
    """Return how many rows one retention step deletes or trims at most."""
    return int(_positive_or_default("JOB_PORTAL_RETENTION_BATCH"))


def artifacts_max_bytes() -> int:
    """Return the bytes of artifacts one run may leave."""
    return int(_positive_or_default("JOB_PORTAL_ARTIFACTS_MAX_BYTES"))


def artifact_retention_days() -> int:
    """Return the days collected artifacts are kept (0: as long as the run)."""
    return _whole_or_default("JOB_PORTAL_ARTIFACT_RETENTION_DAYS")


def vault_settings() -> dict[str, str]:
    """Return the Vault address, token and KV v2 mount for secret backends."""
    return {
        "addr": str(settings.JOB_PORTAL_VAULT_ADDR),
        "token": str(settings.JOB_PORTAL_VAULT_TOKEN),
        "mount": str(settings.JOB_PORTAL_VAULT_MOUNT),
    }


def aws_settings() -> dict[str, str]:
    """Return the AWS region and endpoint (empty: boto3's defaults)."""
    return {
        "region": str(settings.JOB_PORTAL_AWS_REGION),
        "endpoint_url": str(settings.JOB_PORTAL_AWS_ENDPOINT_URL),
    }
