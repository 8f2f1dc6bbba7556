"""The bundled example scripts: the pinned hashes, and their first-start approval."""

from __future__ import annotations

import hashlib
import io
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from jobs.bundled_scripts import BUNDLED_SCRIPT_SHA256
from jobs.management.commands.approvebundled import MSG_APPROVED, MSG_PENDING
from jobs.models import Script, ScriptReview
from jobs.services.approval import (
    MSG_FIRST_START_NOTE,
    script_reject,
    scripts_approve_bundled,
)
from jobs.services.scripts import scripts_sync
from jobs.tests.security_helpers import make_user

REPO_SCRIPTS = Path(settings.BASE_DIR) / "scripts"


def test_the_pinned_hashes_are_the_bundled_files() -> None:
    """Every file in scripts/ is listed with its current SHA-256, and only those."""
    on_disk = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in REPO_SCRIPTS.iterdir()
        if path.is_file()
    }
    assert on_disk == BUNDLED_SCRIPT_SHA256


@pytest.fixture
def bundled_dir(tmp_path: Path, settings: Any) -> Path:
    """Copy the bundled scripts into a fresh scripts directory."""
    root = tmp_path / "scripts"
    root.mkdir()
    for name in BUNDLED_SCRIPT_SHA256:
        (root / name).write_bytes((REPO_SCRIPTS / name).read_bytes())
    settings.JOB_PORTAL_SCRIPTS_DIR = root
    return root


@pytest.mark.django_db
@pytest.mark.usefixtures("require_approval")
def test_first_start_approves_unchanged_bundled_scripts_as_the_admin(
    bundled_dir: Path, now: datetime
) -> None:
    """Each unchanged file is approved, with the history naming the first start."""
    admin = make_user("admin", superuser=True)
    scripts_sync(now=now)
    approved = scripts_approve_bundled(actor=admin, now=now)
    assert [s.path for s in approved] == sorted(BUNDLED_SCRIPT_SHA256)
    assert all(s.is_runnable for s in Script.objects.all())
    notes = set(ScriptReview.objects.values_list("note", "actor_name"))
    assert notes == {(MSG_FIRST_START_NOTE.format(user="admin"), "admin")}
    assert MSG_FIRST_START_NOTE == "approved at first start by {user}"


@pytest.mark.django_db
@pytest.mark.usefixtures("require_approval")
def test_an_edited_bundled_script_is_never_auto_approved(
    bundled_dir: Path, now: datetime
) -> None:
    """A file whose hash is not the pinned one stays pending review."""
    (bundled_dir / "hello.py").write_text("print('edited by a user')\n")
    admin = make_user("admin", superuser=True)
    scripts_sync(now=now)
    approved = scripts_approve_bundled(actor=admin, now=now)
    assert "hello.py" not in [s.path for s in approved]
    assert Script.objects.get(path="hello.py").status == Script.Status.PENDING


@pytest.mark.django_db
@pytest.mark.usefixtures("require_approval")
def test_nothing_is_approved_once_any_script_was_reviewed(
    bundled_dir: Path, now: datetime
) -> None:
    """After a reviewer acted, later starts approve nothing on their behalf."""
    admin = make_user("admin", superuser=True)
    scripts_sync(now=now)
    script_reject(script=Script.objects.get(path="hello.py"), actor=admin, now=now)
    assert scripts_approve_bundled(actor=admin, now=now) == []
    assert Script.objects.filter(status=Script.Status.APPROVED).count() == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("require_approval", "frozen_clock")
def test_command_prints_one_line_then_nothing_but_the_pending_count(
    bundled_dir: Path, now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first call prints the approval; a later one only what still waits."""
    make_user("admin", superuser=True)
    (bundled_dir / "mine.py").write_text("print('mine')\n")
    scripts_sync(now=now)
    call_command("approvebundled", "--username", "admin")
    first = capsys.readouterr().out.splitlines()
    call_command("approvebundled", "--username", "admin")
    second = capsys.readouterr().out.splitlines()
    paths = ", ".join(sorted(BUNDLED_SCRIPT_SHA256))
    assert first == [MSG_APPROVED.format(user="admin", paths=paths)]
    assert second == [MSG_PENDING.format(count=1)]


@pytest.mark.django_db
@pytest.mark.usefixtures("require_approval", "frozen_clock")
def test_command_logs_nothing_at_info_besides_its_line(
    bundled_dir: Path, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    """The one printed line is the report: no INFO line per approved script."""
    make_user("admin", superuser=True)
    scripts_sync(now=now)
    caplog.set_level(logging.INFO)
    call_command("approvebundled", "--username", "admin", stdout=io.StringIO())
    assert [r for r in caplog.records if r.name == "jobs.services.approval"] == []
