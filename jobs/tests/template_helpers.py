"""Helpers for the template tests: the library's scripts in the scripts dir."""

from __future__ import annotations

import importlib
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


@pytest.fixture
def template_library(db: None) -> None:
    """Make sure the shipped library is there (its data migration, again).

    A transactional test elsewhere flushes the database, data migrations'
    rows included; shipping again skips templates that exist.
    """
    from django.apps import apps

    migration = importlib.import_module("jobs.migrations.0010_template_library")
    migration.ship(apps, None)
