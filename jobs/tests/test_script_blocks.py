"""`script_blocks`: the one answer to "may this job's script run, and why not"."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from jobs import reasons
from jobs.selectors import (
    MSG_SCRIPT_MISSING,
    MSG_SCRIPT_NOT_REGISTERED,
    job_script_block,
    script_blocks,
)
from jobs.services.approval import MSG_BLOCK_NEVER_APPROVED, script_reject
from jobs.services.scripts import script_sync_path, scripts_sync
from jobs.tests.factories import JobFactory
from jobs.tests.security_helpers import approved_script, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripts_dir")]


@pytest.mark.usefixtures("require_approval")
def test_pending_script_blocks_with_the_workers_reason(now: datetime) -> None:
    """A never-approved script: the same words the worker records."""
    script = script_sync_path(path="ok.py", now=now)
    block = script_blocks(paths=["ok.py"])["ok.py"]
    assert block.reason == MSG_BLOCK_NEVER_APPROVED.format(path="ok.py")
    assert block.code == reasons.SCRIPT_UNAPPROVED
    assert block.script_id == script.pk


@pytest.mark.usefixtures("require_approval")
def test_rejected_script_blocks_as_rejected(now: datetime) -> None:
    """A rejected script carries the rejection code."""
    admin = make_user("admin", superuser=True)
    script_reject(script=script_sync_path(path="ok.py", now=now), actor=admin, now=now)
    assert script_blocks(paths=["ok.py"])["ok.py"].code == reasons.SCRIPT_REJECTED


@pytest.mark.usefixtures("require_approval")
def test_changed_script_blocks_until_approved_again(
    now: datetime, scripts_dir: Path
) -> None:
    """Content changed since approval (as synced) blocks."""
    admin = make_user("admin", superuser=True)
    approved_script("ok.py", by=admin, now=now)
    assert script_blocks(paths=["ok.py"]) == {}
    (scripts_dir / "ok.py").write_text("print('changed')\n")
    scripts_sync(now=now)
    assert "changed since approval" in script_blocks(paths=["ok.py"])["ok.py"].reason


@pytest.mark.usefixtures("require_approval")
def test_unregistered_script_blocks_with_a_sync_hint() -> None:
    """A path the registry never saw blocks, with no script to link to."""
    block = script_blocks(paths=["ok.py"])["ok.py"]
    assert block.reason == MSG_SCRIPT_NOT_REGISTERED.format(path="ok.py")
    assert block.script_id is None


def test_missing_script_blocks_even_without_approval(
    now: datetime, scripts_dir: Path
) -> None:
    """A file gone from the folder blocks whatever the approval setting."""
    script_sync_path(path="fail.py", now=now)
    (scripts_dir / "fail.py").unlink()
    scripts_sync(now=now)
    block = script_blocks(paths=["fail.py", "ok.py"])
    assert list(block) == ["fail.py"]
    assert block["fail.py"].reason == MSG_SCRIPT_MISSING.format(path="fail.py")
    assert block["fail.py"].code == reasons.PATH_REFUSED


def test_without_approval_a_registered_script_runs(now: datetime) -> None:
    """Approval off: a present script is runnable, reviewed or not."""
    job = JobFactory.create(script="ok.py")
    assert job_script_block(job=job) is None
