"""API settings: a bad rate or token lifetime stops start-up with one line."""

from __future__ import annotations

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
