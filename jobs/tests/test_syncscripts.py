"""`manage.py syncscripts` reports what the sync found, by path."""

import logging
from datetime import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from jobs.management.commands.syncscripts import (
    MSG_BACK_TO_REVIEW,
    MSG_MISSING,
    MSG_NEW,
    MSG_SUMMARY,
)
from jobs.models import Script
from jobs.tests.security_helpers import approved_script, make_user

pytestmark = pytest.mark.django_db


def sync() -> list[str]:
    """Run the command and return its output lines."""
    out = StringIO()
    call_command("syncscripts", stdout=out)
    return out.getvalue().splitlines()


def test_first_sync_lists_the_new_scripts(scripts_dir: Path) -> None:
    """Three new scripts, pending review."""
    assert sync() == [
        MSG_NEW.format(paths="fail.py, nested/report.sh, ok.py"),
        MSG_SUMMARY.format(registered=3, changed=0, missing=0, unchanged=0),
    ]
    assert Script.objects.filter(status=Script.Status.PENDING).count() == 3


def test_changed_approved_and_missing_scripts_are_named(
    scripts_dir: Path, now: datetime
) -> None:
    """An edited approved script and a deleted one are called out."""
    sync()
    approved_script("ok.py", by=make_user("alice", approver=True), now=now)
    (scripts_dir / "ok.py").write_text("print('new')\n")
    (scripts_dir / "fail.py").unlink()
    assert sync() == [
        MSG_BACK_TO_REVIEW.format(paths="ok.py"),
        MSG_MISSING.format(paths="fail.py"),
        MSG_SUMMARY.format(registered=0, changed=1, missing=1, unchanged=1),
    ]


def test_the_result_is_printed_once_not_logged_again(
    scripts_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The command's lines are the report: the service logs nothing at INFO."""
    caplog.set_level(logging.INFO)
    call_command("syncscripts", stdout=StringIO())
    assert [r for r in caplog.records if r.name == "jobs.services.scripts"] == []
    assert logging.getLogger("jobs.services.scripts").level == logging.NOTSET
