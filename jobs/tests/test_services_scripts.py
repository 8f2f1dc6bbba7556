"""The script registry: sync with the folder, content-pinned approval."""

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from accounts.models import AuditEvent
from jobs.models import Script, ScriptReview
from jobs.script_content import sha256_bytes
from jobs.services import approval
from jobs.services.approval import (
    ScriptChangedError,
    ScriptPermissionError,
    script_approve,
    script_block_reason,
    script_reject,
)
from jobs.services.scripts import (
    ScriptUnavailableError,
    script_sync_path,
    scripts_sync,
)
from jobs.tests.security_helpers import approved_script, make_user

pytestmark = pytest.mark.django_db

OK_SHA = sha256_bytes(b"print('ok')\n")


def test_sync_registers_allowed_files_with_hash_size_and_time(
    scripts_dir: Path, now: datetime
) -> None:
    """ok.py, fail.py, nested/report.sh: registered pending, with their hash."""
    (scripts_dir / "notes.txt").write_text("not a script")
    (scripts_dir / ".hidden").mkdir()
    (scripts_dir / ".hidden" / "x.py").write_text("")
    (scripts_dir / "__pycache__").mkdir()
    (scripts_dir / "__pycache__" / "y.py").write_text("")
    result = scripts_sync(now=now)
    assert result.registered == ["fail.py", "nested/report.sh", "ok.py"]
    ok = Script.objects.get(path="ok.py")
    assert (ok.sha256, ok.size_bytes, ok.status, ok.is_missing) == (
        OK_SHA,
        12,
        Script.Status.PENDING,
        False,
    )
    assert ok.modified_at is not None
    assert ok.registered_at == now


def test_sync_skips_symlinks_that_point_outside(
    scripts_dir: Path, tmp_path: Path, now: datetime
) -> None:
    """A link to a file outside the folder is never registered."""
    outside = tmp_path / "outside.py"
    outside.write_text("print('escape')\n")
    (scripts_dir / "escape.py").symlink_to(outside)
    (scripts_dir / "inside_link.py").symlink_to(scripts_dir / "ok.py")
    result = scripts_sync(now=now)
    assert "escape.py" not in result.registered
    assert "inside_link.py" in result.registered


def test_a_second_sync_without_changes_changes_nothing(
    scripts_dir: Path, now: datetime
) -> None:
    """Idempotent: the second sync reports everything unchanged."""
    scripts_sync(now=now)
    result = scripts_sync(now=now + timedelta(minutes=1))
    assert (result.registered, result.changed, result.missing, result.unchanged) == (
        [],
        [],
        [],
        3,
    )


def test_an_approved_script_edited_on_disk_goes_back_to_review(
    scripts_dir: Path, now: datetime
) -> None:
    """Sync sees the new hash: pending again, listed as back to review."""
    alice = make_user("alice", approver=True)
    approved_script("ok.py", by=alice, now=now)
    (scripts_dir / "ok.py").write_text("print('changed')\n")
    result = scripts_sync(now=now + timedelta(hours=1))
    assert result.back_to_review == ["ok.py"]
    script = Script.objects.get(path="ok.py")
    assert script.status == Script.Status.PENDING
    assert script.sha256 == sha256_bytes(b"print('changed')\n")
    assert script.approved_sha256 == OK_SHA
    assert script.approved_content == "print('ok')\n"


def test_reverting_to_the_approved_content_makes_it_approved_again(
    scripts_dir: Path, now: datetime
) -> None:
    """Approval pins a hash: the same content again is the approved content."""
    alice = make_user("alice", approver=True)
    approved_script("ok.py", by=alice, now=now)
    (scripts_dir / "ok.py").write_text("print('changed')\n")
    scripts_sync(now=now)
    (scripts_dir / "ok.py").write_text("print('ok')\n")
    scripts_sync(now=now)
    assert Script.objects.get(path="ok.py").status == Script.Status.APPROVED


def test_a_deleted_file_is_flagged_missing_and_back_when_it_returns(
    scripts_dir: Path, now: datetime
) -> None:
    """Missing is a flag, not a deletion: history and approval stay."""
    scripts_sync(now=now)
    content = (scripts_dir / "fail.py").read_bytes()
    (scripts_dir / "fail.py").unlink()
    assert scripts_sync(now=now).missing == ["fail.py"]
    assert Script.objects.get(path="fail.py").is_missing is True
    (scripts_dir / "fail.py").write_bytes(content)
    assert scripts_sync(now=now).changed == ["fail.py"]
    assert Script.objects.get(path="fail.py").is_missing is False


def test_approving_pins_the_current_content_and_records_who(
    scripts_dir: Path, now: datetime
) -> None:
    """Approved hash, content snapshot, approver, time, a review and an audit."""
    alice = make_user("alice", approver=True)
    script = script_sync_path(path="ok.py", now=now)
    script_approve(script=script, actor=alice, note="looks fine", now=now)
    script.refresh_from_db()
    assert (script.status, script.approved_sha256, script.approved_content) == (
        Script.Status.APPROVED,
        OK_SHA,
        "print('ok')\n",
    )
    assert (script.approved_by, script.approved_by_name, script.approved_at) == (
        alice,
        "alice",
        now,
    )
    review = ScriptReview.objects.get(script=script)
    assert (review.action, review.sha256, review.note, review.actor_name) == (
        ScriptReview.Action.APPROVE,
        OK_SHA,
        "looks fine",
        "alice",
    )
    event = AuditEvent.objects.filter(action=AuditEvent.Action.APPROVE).get()
    assert (event.actor_repr, event.target_repr) == ("alice", "ok.py")


@pytest.mark.parametrize("action", [script_approve, script_reject])
def test_only_approvers_can_approve_or_reject(
    scripts_dir: Path, now: datetime, action: Callable[..., Script]
) -> None:
    """A user without jobs.approve_script is refused; nothing is written."""
    bob = make_user("bob")
    script = script_sync_path(path="ok.py", now=now)
    with pytest.raises(ScriptPermissionError) as caught:
        action(script=script, actor=bob, now=now)
    assert str(caught.value) == approval.MSG_NOT_APPROVER
    script.refresh_from_db()
    assert script.status == Script.Status.PENDING
    assert not ScriptReview.objects.exists()


def test_superusers_may_approve(scripts_dir: Path, now: datetime) -> None:
    """The Admin role and superusers hold the permission."""
    root = make_user("root", superuser=True)
    assert approved_script("ok.py", by=root, now=now).status == Script.Status.APPROVED


def test_approval_refuses_content_the_reviewer_did_not_see(
    scripts_dir: Path, now: datetime
) -> None:
    """The file changed after the page was shown: nothing is approved."""
    alice = make_user("alice", approver=True)
    script = script_sync_path(path="ok.py", now=now)
    (scripts_dir / "ok.py").write_text("import os; os.system('evil')\n")
    with pytest.raises(ScriptChangedError):
        script_approve(script=script, actor=alice, now=now, expected_sha256=OK_SHA)
    script.refresh_from_db()
    assert (script.status, script.approved_sha256) == (Script.Status.PENDING, "")


def test_approving_a_missing_file_is_refused(scripts_dir: Path, now: datetime) -> None:
    """Nothing to pin: ScriptUnavailableError names the path."""
    alice = make_user("alice", approver=True)
    script = script_sync_path(path="ok.py", now=now)
    (scripts_dir / "ok.py").unlink()
    with pytest.raises(ScriptUnavailableError, match=r"ok\.py"):
        script_approve(script=script, actor=alice, now=now)


def test_rejecting_the_approved_content_revokes_the_approval(
    scripts_dir: Path, now: datetime
) -> None:
    """Rejected: not runnable, and the reason says who rejected it and why."""
    alice = make_user("alice", approver=True)
    script = approved_script("ok.py", by=alice, now=now)
    script_reject(script=script, actor=alice, note="leaks data", now=now)
    script.refresh_from_db()
    assert (script.status, script.approved_sha256) == (Script.Status.REJECTED, "")
    assert script.approved_content == "print('ok')\n"
    assert [r.action for r in script.reviews.all()] == ["reject", "approve"]


@pytest.mark.usefixtures("require_approval")
class TestBlockReason:
    """Why a script may not run, as the worker records it."""

    def test_a_never_approved_script_is_blocked(
        self, scripts_dir: Path, now: datetime
    ) -> None:
        """It is registered on the way and waits for review."""
        assert script_block_reason(
            script_path="ok.py", now=now
        ) == approval.MSG_BLOCK_NEVER_APPROVED.format(path="ok.py")
        assert Script.objects.get(path="ok.py").status == Script.Status.PENDING

    def test_an_approved_script_may_run(self, scripts_dir: Path, now: datetime) -> None:
        """Same hash as approved: no reason."""
        approved_script("ok.py", by=make_user("alice", approver=True), now=now)
        assert script_block_reason(script_path="ok.py", now=now) is None

    def test_an_edited_approved_script_is_blocked_saying_since_when_and_by_whom(
        self, scripts_dir: Path, now: datetime
    ) -> None:
        """Hashed at run time: the edit is caught without a sync."""
        approved_script("ok.py", by=make_user("alice", approver=True), now=now)
        (scripts_dir / "ok.py").write_text("print('edited')\n")
        reason = script_block_reason(script_path="ok.py", now=now + timedelta(days=3))
        assert reason == (
            "Script 'ok.py' changed since approval on 2026-03-01 by alice; it is "
            "pending review again."
        )
        assert Script.objects.get(path="ok.py").status == Script.Status.PENDING

    def test_a_rejected_script_is_blocked_with_the_note(
        self, scripts_dir: Path, now: datetime
    ) -> None:
        """The reviewer's note is the reason."""
        alice = make_user("alice", approver=True)
        script = script_sync_path(path="ok.py", now=now)
        script_reject(script=script, actor=alice, note="uses prod creds", now=now)
        assert script_block_reason(script_path="ok.py", now=now) == (
            "Script 'ok.py' was rejected on 2026-03-01 by alice: uses prod creds."
        )

    def test_a_revoked_script_edited_afterwards_is_simply_pending(
        self, scripts_dir: Path, now: datetime
    ) -> None:
        """Approved, rejected (revoked), then edited: pending, not "never"."""
        alice = make_user("alice", approver=True)
        script = approved_script("ok.py", by=alice, now=now)
        script_reject(script=script, actor=alice, now=now)
        (scripts_dir / "ok.py").write_text("print('fixed')\n")
        assert script_block_reason(
            script_path="ok.py", now=now
        ) == approval.MSG_BLOCK_PENDING.format(path="ok.py")

    def test_an_unsafe_path_is_blocked_with_the_path_problem(
        self, scripts_dir: Path, now: datetime
    ) -> None:
        """Path safety comes first, approval or not."""
        reason = script_block_reason(script_path="../etc/passwd.py", now=now)
        assert reason == (
            "The script cannot run: '../etc/passwd.py' resolves outside the "
            "scripts directory."
        )


def test_without_required_approval_only_the_path_matters(
    scripts_dir: Path, now: datetime
) -> None:
    """JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL=false: never approved still runs.

    Nothing is hashed or written on that path (the run's path check is done
    by the caller), so an unregistered script stays unregistered.
    """
    assert script_block_reason(script_path="ok.py", now=now) is None
    assert Script.objects.filter(path="ok.py").exists() is False


def test_registering_a_script_another_worker_just_registered_updates_it(
    scripts_dir: Path, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers starting runs of one new script: the loser updates, no error."""
    from django.db import IntegrityError

    from jobs.services import scripts as service

    real = service._record_stat_once
    calls = []

    def lose_the_race(path: str, stat: Any, **kwargs: Any) -> str:
        calls.append(path)
        if len(calls) == 1:
            # The other worker's insert lands between our read and our write.
            real(path, stat, **kwargs)
            raise IntegrityError("UNIQUE constraint failed: jobs_script.path")
        return real(path, stat, **kwargs)

    monkeypatch.setattr(service, "_record_stat_once", lose_the_race)
    script = script_sync_path(path="ok.py", now=now)
    assert calls == ["ok.py", "ok.py"]
    assert Script.objects.filter(path="ok.py").count() == 1
    assert script.sha256 == sha256_bytes((scripts_dir / "ok.py").read_bytes())
