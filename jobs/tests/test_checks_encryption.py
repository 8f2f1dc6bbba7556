"""System checks for JOB_PORTAL_ENCRYPTION_KEY (jobs.E010, jobs.E011, jobs.W010)."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jobs import crypto
from jobs.checks import MSG_ENCRYPTION_KEY_DEBUG, check_encryption_key

ROOT = Path(__file__).resolve().parents[2]
KEY = "u7Vnd0dBiCVXTuQ2f1lr0u_9sAcpl7Wg6kQ3X1mNnZw="


def messages(
    settings: Any, value: str, *, debug: bool = False
) -> list[tuple[str | None, str]]:
    """Return (id, message) of the check's findings for `value`."""
    settings.JOB_PORTAL_ENCRYPTION_KEY = value
    settings.DEBUG = debug
    return [(m.id, m.msg) for m in check_encryption_key(None)]


def test_a_valid_key_or_list_of_keys_passes(settings: Any) -> None:
    """One key, or several comma-separated."""
    assert messages(settings, KEY) == []
    assert messages(settings, f"{crypto.generate_key()}, {KEY}") == []


def test_a_missing_key_is_an_error_outside_debug(settings: Any) -> None:
    """Production must not run without one."""
    assert messages(settings, "") == [("jobs.E010", crypto.MSG_KEY_MISSING)]


def test_a_missing_key_is_a_warning_in_debug(settings: Any) -> None:
    """A developer can start without one; secrets just cannot be used."""
    assert messages(settings, "", debug=True) == [
        ("jobs.W010", MSG_ENCRYPTION_KEY_DEBUG)
    ]


def test_a_malformed_key_is_an_error_even_in_debug(settings: Any) -> None:
    """Named by position, its value not echoed."""
    assert messages(settings, f"{KEY},short", debug=True) == [
        ("jobs.E011", crypto.MSG_KEY_MALFORMED.format(position=2, count=2))
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", "(jobs.E010) JOB_PORTAL_ENCRYPTION_KEY is not set"), ("nope", "(jobs.E011)")],
)
def test_manage_py_check_reports_it_without_a_traceback(
    value: str, expected: str
) -> None:
    """`manage.py check` fails naming the variable."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={
            **os.environ,
            "JOB_PORTAL_SECRET_KEY": "test-key",
            "JOB_PORTAL_DEBUG": "false",
            "JOB_PORTAL_ENCRYPTION_KEY": value,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
