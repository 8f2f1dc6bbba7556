"""Helpers for the template tests: the library's scripts in the scripts dir."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# The repository's scripts folder, where the library's example scripts live.
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
LIBRARY_SCRIPTS = (
    "db_backup.py",
    "api_fetch.py",
    "report_generate.py",
    "file_cleanup.py",
)


@pytest.fixture
def library_scripts(scripts_dir: Path) -> Path:
    """Copy the template library's scripts into the test's scripts folder."""
    for name in LIBRARY_SCRIPTS:
        shutil.copy(SCRIPTS / name, scripts_dir / name)
    return scripts_dir
