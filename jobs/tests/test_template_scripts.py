"""The template library's example scripts, run as real subprocesses.

No network: the API fetch reads from a local HTTP server. The scripts are
also registered and approved by hash like any other script.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_httpserver import HTTPServer

from jobs.services.approval import script_approve, script_block_reason
from jobs.services.scripts import script_sync_path
from jobs.tests.template_helpers import LIBRARY_SCRIPTS, SCRIPTS

RECORDS = [{"city": "HK", "sales": 3, "units": 1.5}, {"city": "SG", "sales": 4}]


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a library script with a bounded wait; return its result."""
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_api_fetch_writes_the_json_answer(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """The URL's JSON lands in the output file."""
    httpserver.expect_request("/sales").respond_with_json(RECORDS)
    out = tmp_path / "data" / "sales.json"
    result = run("api_fetch.py", httpserver.url_for("/sales"), str(out), "5")
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text()) == RECORDS


def test_api_fetch_fails_on_an_http_error(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A 500 is exit 1 with the error on stderr, and no file."""
    httpserver.expect_request("/down").respond_with_data("no", status=500)
    out = tmp_path / "x.json"
    result = run("api_fetch.py", httpserver.url_for("/down"), str(out))
    assert result.returncode == 1
    assert "HTTP Error 500" in result.stderr
    assert not out.exists()


def test_api_fetch_refuses_a_non_http_url(tmp_path: Path) -> None:
    """file:// and the like are refused."""
    result = run("api_fetch.py", "file:///etc/passwd", str(tmp_path / "x.json"))
    assert (result.returncode, result.stderr.strip()) == (
        1,
        "Not an http(s) URL: file:///etc/passwd",
    )


def test_report_generation_writes_markdown_and_sqlite(tmp_path: Path) -> None:
    """Counts and sums of numeric fields, as Markdown or as SQLite tables."""
    source = tmp_path / "in.json"
    source.write_text(json.dumps(RECORDS))
    assert (
        run("report_generate.py", str(source), str(tmp_path / "r.md"), "T").returncode
        == 0
    )
    assert (tmp_path / "r.md").read_text() == (
        "# T\n\nRecords: 2\n\n| field | total |\n|---|---|\n"
        "| sales | 7 |\n| units | 1.5 |\n"
    )
    db = tmp_path / "r.sqlite3"
    assert run("report_generate.py", str(source), str(db)).returncode == 0
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT field, total FROM totals ORDER BY field").fetchall()
    assert rows == [("sales", 7.0), ("units", 1.5)]


def test_database_backup_copies_and_keeps_the_newest(tmp_path: Path) -> None:
    """Each run adds a consistent copy; only KEEP copies stay."""
    source = tmp_path / "app.sqlite3"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (42)")
    backups = tmp_path / "backups"
    for _ in range(3):
        assert run("db_backup.py", str(source), str(backups), "2").returncode == 0
    kept = sorted(backups.iterdir())
    assert len(kept) == 2
    with sqlite3.connect(kept[-1]) as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == [(42,)]


def test_file_cleanup_deletes_only_old_matching_files(tmp_path: Path) -> None:
    """Old matching files go; new ones, other patterns and folders stay."""
    old = time.time() - 10 * 86400
    for name in ("old.log", "old.txt", "new.log"):
        (tmp_path / name).write_text("x")
    for name in ("old.log", "old.txt"):
        os.utime(tmp_path / name, (old, old))
    (tmp_path / "sub").mkdir()
    dry = run("file_cleanup.py", str(tmp_path), "5", "*.log", "--dry-run")
    assert (tmp_path / "old.log").exists()
    assert "would remove" in dry.stdout
    assert run("file_cleanup.py", str(tmp_path), "5", "*.log").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.log", "old.txt", "sub"]


@pytest.mark.django_db
@pytest.mark.usefixtures("require_approval")
@pytest.mark.parametrize("script", LIBRARY_SCRIPTS)
def test_library_scripts_are_approved_by_hash_like_any_script(
    script: str, settings: Any, now: datetime, make_user: Callable[..., User]
) -> None:
    """Unapproved, a library script is blocked; approved by hash, it may run."""
    settings.JOB_PORTAL_SCRIPTS_DIR = SCRIPTS
    registered = script_sync_path(path=script, now=now)
    assert script_block_reason(script_path=script, now=now) is not None
    script_approve(
        script=registered,
        actor=make_user("root", "Admin"),
        now=now,
        expected_sha256=registered.sha256,
    )
    assert script_block_reason(script_path=script, now=now) is None
