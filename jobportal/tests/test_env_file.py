"""The .env file: optional, its path settable by JOB_PORTAL_ENV_FILE."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW = (
    "from django.conf import settings\n"
    "print(settings.JOB_PORTAL_TIMEZONE, settings.SECRET_KEY)"
)


def settings_with(**variables: str) -> subprocess.CompletedProcess[str]:
    """Load the settings in a fresh process with only `variables` set."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("JOB_PORTAL_")
    }
    env.update(DJANGO_SETTINGS_MODULE="jobportal.settings", **variables)
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_file_named_by_job_portal_env_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / "portal.env"
    env_file.write_text(
        "JOB_PORTAL_SECRET_KEY=from-the-file\nJOB_PORTAL_TIMEZONE=Europe/Paris\n"
    )

    shown = settings_with(JOB_PORTAL_ENV_FILE=str(env_file))

    assert shown.stdout.split() == ["Europe/Paris", "from-the-file"], shown.stderr


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    env_file = tmp_path / "portal.env"
    env_file.write_text("JOB_PORTAL_SECRET_KEY=x\nJOB_PORTAL_TIMEZONE=Europe/Paris\n")

    shown = settings_with(
        JOB_PORTAL_ENV_FILE=str(env_file), JOB_PORTAL_TIMEZONE="Asia/Tokyo"
    )

    assert shown.stdout.split() == ["Asia/Tokyo", "x"], shown.stderr


def test_empty_reads_no_file_and_the_environment_alone_suffices() -> None:
    shown = settings_with(JOB_PORTAL_ENV_FILE="", JOB_PORTAL_SECRET_KEY="env-only")

    assert shown.stdout.split() == ["Asia/Hong_Kong", "env-only"], shown.stderr


def test_a_named_file_that_is_missing_is_refused_naming_the_variable(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere.env"

    shown = settings_with(JOB_PORTAL_ENV_FILE=str(missing), JOB_PORTAL_SECRET_KEY="k")

    assert shown.returncode != 0
    assert f"JOB_PORTAL_ENV_FILE={str(missing)!r} is not a file" in shown.stderr
