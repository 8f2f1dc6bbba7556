"""Helpers the example tests share: a copy of the Django host project to run."""

import os
import shutil
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent
REPO = EXAMPLES.parent
ENCRYPTION_KEY = "TZYzC_4CCyE2iSjrAw-Y782Qnki53MXol9Sl4pcYr-4="


def host_project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Copy examples/django_host into `tmp_path`; return it and its environment.

    The environment points the host at a fresh SQLite file and artifacts
    folder under `tmp_path`, and has no PYTHONPATH: whoever runs the host
    chooses where the portal's apps come from.
    """
    host = tmp_path / "django_host"
    shutil.copytree(
        EXAMPLES / "django_host",
        host,
        ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3*", "var"),
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")
        and not key.startswith("JOB_PORTAL_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="host.settings",
        HOST_SECRET_KEY="example-host-secret-key",
        HOST_ENCRYPTION_KEY=ENCRYPTION_KEY,
        HOST_DB_PATH=str(tmp_path / "host.sqlite3"),
        HOST_ARTIFACTS_DIR=str(tmp_path / "artifacts"),
    )
    return host, env
