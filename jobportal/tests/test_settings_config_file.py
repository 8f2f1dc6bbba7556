"""JOB_PORTAL_CONFIG_FILE at start-up: read, overridden by the environment, checked."""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from jobportal import config_file

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.JOB_PORTAL_TIMEZONE, s.JOB_PORTAL_WORKER_MAX_CONCURRENT, s.DEBUG)"
)


def run(args: list[str], config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run Python in the project with the configuration file and extra variables."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("JOB_PORTAL_TIMEZONE", "JOB_PORTAL_WORKER_MAX_CONCURRENT")
    }
    environment.update(
        JOB_PORTAL_SECRET_KEY="test-key",
        DJANGO_SETTINGS_MODULE="jobportal.settings",
        JOB_PORTAL_CONFIG_FILE=str(config),
        **env,
    )
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(tmp_path: Path, text: str) -> Path:
    """Write a configuration file and return its path."""
    path = tmp_path / "portal.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_settings_take_their_values_from_the_file(tmp_path: Path) -> None:
    """Keys in the file set the settings as the environment would."""
    config = write(
        tmp_path,
        "JOB_PORTAL_TIMEZONE: Europe/Paris\n"
        "JOB_PORTAL_WORKER_MAX_CONCURRENT: 9\n"
        "JOB_PORTAL_DEBUG: true\n",
    )
    result = run(["-c", SHOW], config)
    assert result.stdout.split() == ["Europe/Paris", "9", "True"], result.stderr


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    """A variable set in the environment overrides the same key in the file."""
    config = write(
        tmp_path,
        "JOB_PORTAL_TIMEZONE: Europe/Paris\nJOB_PORTAL_WORKER_MAX_CONCURRENT: 9\n",
    )
    result = run(["-c", SHOW], config, JOB_PORTAL_TIMEZONE="America/New_York")
    assert result.stdout.split()[:2] == ["America/New_York", "9"], result.stderr


def test_a_bad_value_in_the_file_is_reported_by_its_check(tmp_path: Path) -> None:
    """The file's values go through the same system checks as the environment's."""
    config = write(tmp_path, "JOB_PORTAL_WORKER_POLL_INTERVAL: soon\n")
    result = run(["manage.py", "check"], config)
    assert result.returncode == 1
    assert (
        "JOB_PORTAL_WORKER_POLL_INTERVAL must be a number greater than 0 "
        "(seconds); got 'soon'."
    ) in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_key_fails_the_checks_naming_key_and_file(tmp_path: Path) -> None:
    """A misspelt key is check jobs.E210, with the file's path."""
    config = write(tmp_path, "JOB_PORTAL_TIMEZON: Europe/Paris\n")
    result = run(["manage.py", "check"], config)
    assert result.returncode == 1
    message = config_file.MSG_UNKNOWN.format(path=config, key="JOB_PORTAL_TIMEZON")
    assert f"(jobs.E210) {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_type_stops_start_up_in_one_line(tmp_path: Path) -> None:
    """A value the environment cannot hold is a configuration error, exit 2."""
    config = write(tmp_path, "JOB_PORTAL_SMTP_PORT: {port: 25}\n")
    result = run(["manage.py", "check"], config)
    assert result.returncode == 2
    assert result.stderr == (
        f"Configuration error: {config}: JOB_PORTAL_SMTP_PORT must be a string, "
        "number, boolean or a list of those; got a mapping.\n"
    )


def test_a_missing_file_stops_start_up_naming_it(tmp_path: Path) -> None:
    """JOB_PORTAL_CONFIG_FILE naming no file is refused, not ignored."""
    result = run(["manage.py", "check"], tmp_path / "absent.yaml")
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"Configuration error: JOB_PORTAL_CONFIG_FILE='{tmp_path / 'absent.yaml'}' "
        "cannot be read"
    )


def test_every_documented_variable_may_be_set_in_the_file() -> None:
    """Each key of .env.example is read by the settings (or environment-only)."""
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    keys = set(re.findall(r"^#? ?(JOB_PORTAL_[A-Z0-9_]+)=", example, re.MULTILINE))
    assert "JOB_PORTAL_TIMEZONE" in keys
    assert config_file.unknown_keys(
        keys, known=settings.JOB_PORTAL_SETTINGS_READ, path=".env.example"
    ) == [
        config_file.MSG_ENVIRONMENT_ONLY.format(path=".env.example", key=key)
        for key in sorted(keys & config_file.ENVIRONMENT_ONLY)
    ]
