"""Project-wide pytest fixtures."""

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

# CI replays the same examples every run, so that a red build is
# reproducible; local runs keep exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

EXAMPLE_SCRIPTS = {
    "ok.py": "print('ok')\n",
    "fail.py": "import sys\nprint('bad')\nsys.exit(2)\n",
    "nested/report.sh": "#!/usr/bin/env bash\necho report\n",
}


@pytest.fixture
def scripts_dir(tmp_path: Path, settings: Any) -> Path:
    """Point JOB_PORTAL_SCRIPTS_DIR at a fresh folder of tiny scripts."""
    root = tmp_path / "scripts"
    for name, text in EXAMPLE_SCRIPTS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    settings.JOB_PORTAL_SCRIPTS_DIR = root
    return root


@pytest.fixture
def now() -> datetime:
    """Return a fixed instant: 2026-03-01 00:00 UTC."""
    return datetime(2026, 3, 1, tzinfo=UTC)
