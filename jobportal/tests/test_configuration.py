"""Configuration: bad JOB_PORTAL_* values are named, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_check(**env: str) -> subprocess.CompletedProcess[str]:
    """Run `manage.py check` with extra environment variables."""
    environment = {**os.environ, "JOB_PORTAL_SECRET_KEY": "test-key", **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_defaults_pass_the_checks() -> None:
    """A checkout with only a secret key configured passes every check."""
    result = run_check()
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "JOB_PORTAL_TIMEZONE",
            "Mars/Base",
            "(jobs.E001) JOB_PORTAL_TIMEZONE='Mars/Base'",
        ),
        (
            "JOB_PORTAL_SCRIPTS_DIR",
            "/no/such/dir",
            "(jobs.E002) JOB_PORTAL_SCRIPTS_DIR",
        ),
        (
            "JOB_PORTAL_WORKER_POLL_INTERVAL",
            "soon",
            "JOB_PORTAL_WORKER_POLL_INTERVAL must be a number greater than 0",
        ),
        (
            "JOB_PORTAL_WORKER_JOB_TIMEOUT",
            "-5",
            "JOB_PORTAL_WORKER_JOB_TIMEOUT must be a number of whole seconds",
        ),
        (
            "JOB_PORTAL_WORKER_MAX_CONCURRENT",
            "0",
            "JOB_PORTAL_WORKER_MAX_CONCURRENT must be a number of whole runs",
        ),
        (
            "JOB_PORTAL_SMTP_PORT",
            "70000",
            "JOB_PORTAL_SMTP_PORT must be a number from 1",
        ),
        ("JOB_PORTAL_WORKER_LOST_AFTER", "0", "JOB_PORTAL_WORKER_LOST_AFTER must be a"),
        (
            "JOB_PORTAL_WORKER_SHUTDOWN_GRACE",
            "later",
            "JOB_PORTAL_WORKER_SHUTDOWN_GRACE must be a number of seconds, 0 or more",
        ),
        (
            "JOB_PORTAL_ALLOWED_EXTENSIONS",
            "py,sh",
            "(jobs.E004) JOB_PORTAL_ALLOWED_EXT",
        ),
        ("JOB_PORTAL_LOG_LEVEL", "loud", "(jobs.E005) JOB_PORTAL_LOG_LEVEL='LOUD'"),
    ],
)
def test_bad_value_is_reported_by_a_system_check(
    variable: str, value: str, message: str
) -> None:
    """Each invalid setting fails `check` with its variable's name, no trace."""
    result = run_check(**{variable: value})
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("JOB_PORTAL_SECRET_KEY", "", "JOB_PORTAL_SECRET_KEY is not set"),
        ("JOB_PORTAL_DEBUG", "maybe", "JOB_PORTAL_DEBUG='maybe' is not a boolean"),
        ("JOB_PORTAL_DB_URL", "mysql://x@y/z", "JOB_PORTAL_DB_URL='mysql://x@y/z' is"),
        ("JOB_PORTAL_DB_URL", "nonsense", "JOB_PORTAL_DB_URL='nonsense' is not"),
    ],
)
def test_unusable_value_stops_start_up_with_its_name(
    variable: str, value: str, message: str
) -> None:
    """Values Django cannot start with give a one-line error, exit 2."""
    result = run_check(**{variable: value})
    assert result.returncode == 2
    assert result.stderr.startswith("Configuration error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    """A SQLite database is opened in WAL mode and waits for locks."""
    database = tmp_path / "portal.sqlite3"
    code = (
        "import django; django.setup();"
        "from django.db import connection;"
        "c = connection.cursor();"
        "print(c.execute('PRAGMA journal_mode').fetchone()[0],"
        " c.execute('PRAGMA busy_timeout').fetchone()[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **os.environ,
            "JOB_PORTAL_SECRET_KEY": "test-key",
            "DJANGO_SETTINGS_MODULE": "jobportal.settings",
            "JOB_PORTAL_DB_URL": f"sqlite:///{database}",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.split() == ["wal", "20000"], result.stderr


# --- the API's settings ----------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("JOB_PORTAL_API_RATE", "lots"),
        ("JOB_PORTAL_API_RATE", "0/minute"),
        ("JOB_PORTAL_API_RATE", "100/fortnight"),
        ("JOB_PORTAL_API_ANON_RATE", "100 per minute"),
    ],
)
def test_bad_rate_is_a_one_line_configuration_error(variable: str, value: str) -> None:
    """A rate DRF could not parse names its variable and the expected form."""
    result = run_check(**{variable: value})
    assert result.returncode == 2
    assert result.stderr == (
        f"Configuration error: {variable}={value!r} is not a rate; use "
        "requests/period, e.g. 100/minute (periods: second, minute, hour, day).\n"
    )


@pytest.mark.parametrize(
    "variable", ["JOB_PORTAL_JWT_ACCESS_MINUTES", "JOB_PORTAL_JWT_REFRESH_MINUTES"]
)
def test_bad_token_lifetime_is_a_one_line_configuration_error(variable: str) -> None:
    """A token lifetime must be a whole number of minutes."""
    result = run_check(**{variable: "0"})
    assert result.returncode == 2
    assert result.stderr == (
        f"Configuration error: {variable}='0' is not a whole number of minutes "
        "of at least 1.\n"
    )


def test_good_rates_pass() -> None:
    """Rates in every period DRF knows are accepted."""
    result = run_check(
        JOB_PORTAL_API_RATE="5/second", JOB_PORTAL_API_ANON_RATE="100/day"
    )
    assert result.returncode == 0, result.stderr
