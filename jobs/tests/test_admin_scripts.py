"""The script admin: badges, escaped content, diff, approval for approvers only."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from jobs.admin import scripts as scripts_admin
from jobs.models import Script, ScriptReview
from jobs.presentation import MSG_NEVER_APPROVED
from jobs.script_content import sha256_bytes
from jobs.services.approval import MSG_CHANGED_DURING_REVIEW
from jobs.services.scripts import script_sync_path
from jobs.tests.security_helpers import approved_script, make_user

# "now" is pinned to 2026-03-01 00:00 UTC for every test here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

CHANGELIST = "admin:jobs_script_changelist"
HOSTILE = 'print("<script>alert(1)</script> & done")\nprint(2)\n'


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Hash the test users' passwords cheaply."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def viewer(username: str = "vera") -> User:
    """Return a staff user who may only look at scripts."""
    user = make_user(username)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="jobs", codename="view_script")
    )
    return type(user).objects.get(pk=user.pk)


def approver(username: str = "alice") -> User:
    """Return a staff user who may look at and approve scripts."""
    user = viewer(username)
    user.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="jobs", codename="approve_script"
        )
    )
    return type(user).objects.get(pk=user.pk)


def client_for(user: User) -> Client:
    """Return a client signed in as `user`."""
    client = Client()
    client.force_login(user)
    return client


def change_url(script: Script) -> str:
    """Return the script's admin page."""
    return reverse("admin:jobs_script_change", args=[script.pk])


def review_url(script: Script) -> str:
    """Return where the review form posts."""
    return reverse("admin:jobs_script_review", args=[script.pk])


def test_the_list_shows_a_badge_per_status(scripts_dir: Path, now: datetime) -> None:
    """Approved, pending, changed since approval and missing look different."""
    alice = approver()
    approved_script("ok.py", by=alice, now=now)
    approved_script("fail.py", by=alice, now=now)
    (scripts_dir / "fail.py").write_text("print('edited')\n")
    script_sync_path(path="fail.py", now=now)
    script_sync_path(path="nested/report.sh", now=now)
    (scripts_dir / "gone.py").write_text("")
    script_sync_path(path="gone.py", now=now)
    (scripts_dir / "gone.py").unlink()
    Script.objects.filter(path="gone.py").update(is_missing=True)
    html = client_for(alice).get(reverse(CHANGELIST)).content.decode()
    assert 'jobs-script-approved">Approved<' in html
    assert 'jobs-script-changed">Changed - pending review<' in html
    assert 'jobs-script-pending">Pending review<' in html
    assert 'jobs-script-missing">Missing<' in html


def test_the_sync_button_registers_the_folder(scripts_dir: Path) -> None:
    """POST sync: every script registered, the list says how many."""
    client = client_for(approver())
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert reverse("admin:jobs_script_sync") in page
    response = client.post(reverse("admin:jobs_script_sync"), follow=True)
    assert (
        scripts_admin.MSG_SYNCED.format(registered=3, changed=0, missing=0)
        in response.content.decode()
    )
    assert Script.objects.count() == 3


def test_a_viewer_can_neither_see_nor_use_the_sync_button(scripts_dir: Path) -> None:
    """Read-only users get the list but no sync."""
    client = client_for(viewer())
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert reverse("admin:jobs_script_sync") not in page.content.decode()
    assert client.post(reverse("admin:jobs_script_sync")).status_code == 403
    assert not Script.objects.exists()


def test_content_is_escaped_with_line_numbers(scripts_dir: Path, now: datetime) -> None:
    """Markup in a script is shown as text, line by line, never run."""
    (scripts_dir / "hostile.py").write_text(HOSTILE)
    script = script_sync_path(path="hostile.py", now=now)
    html = client_for(viewer()).get(change_url(script)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert (
        '<tr><td class="jobs-lineno">1</td><td class="jobs-line">'
        "print(&quot;&lt;script&gt;alert(1)&lt;/script&gt; &amp; done&quot;)</td></tr>"
    ) in html
    assert '<td class="jobs-lineno">2</td><td class="jobs-line">print(2)</td>' in html
    assert sha256_bytes(HOSTILE.encode()) in html


def test_the_page_shows_the_diff_against_the_approved_content(
    scripts_dir: Path, now: datetime
) -> None:
    """Removed and added lines, against what alice approved."""
    alice = approver()
    script = approved_script("ok.py", by=alice, now=now)
    (scripts_dir / "ok.py").write_text("print('ok')\nprint('<b>new</b>')\n")
    html = client_for(alice).get(change_url(script)).content.decode()
    assert "--- approved 2026-03-01 08:00:00 HKT by alice" in html
    added = "+print(&#x27;&lt;b&gt;new&lt;/b&gt;&#x27;)"
    assert f'<span class="jobs-diff-added">{added}</span>' in html


def test_a_never_approved_script_says_there_is_nothing_to_compare(
    scripts_dir: Path, now: datetime
) -> None:
    """No approval yet: a note instead of a diff."""
    script = script_sync_path(path="ok.py", now=now)
    html = client_for(viewer()).get(change_url(script)).content.decode()
    assert MSG_NEVER_APPROVED in html


def test_only_approvers_see_the_review_form(scripts_dir: Path, now: datetime) -> None:
    """The approve and reject buttons are for jobs.approve_script only."""
    script = script_sync_path(path="ok.py", now=now)
    assert "jobs-script-review-form" not in (
        client_for(viewer()).get(change_url(script)).content.decode()
    )
    assert "jobs-script-review-form" in (
        client_for(approver()).get(change_url(script)).content.decode()
    )


def test_approve_is_offered_only_for_content_not_yet_approved(
    scripts_dir: Path, now: datetime
) -> None:
    """Pending: Approve and Reject; approved: only Reject, saying so."""
    alice = approver()
    script = script_sync_path(path="ok.py", now=now)
    pending = client_for(alice).get(change_url(script)).content.decode()
    approved_script("ok.py", by=alice, now=now)
    approved = client_for(alice).get(change_url(script)).content.decode()
    assert "Approve this content" in pending
    assert "Approve this content" not in approved
    assert "This content is the approved content." in approved
    assert "Reject (revoke the approval)" in approved
    assert 'class="closelink"' not in approved
    assert 'title="2026-03-01 00:00:00 UTC"' in approved


def test_a_non_approver_posting_an_approval_is_refused(
    scripts_dir: Path, now: datetime
) -> None:
    """403, and the script stays pending with no review."""
    script = script_sync_path(path="ok.py", now=now)
    response = client_for(viewer()).post(
        review_url(script), {"decision": "approve", "sha256": script.sha256}
    )
    assert response.status_code == 403
    script.refresh_from_db()
    assert script.status == Script.Status.PENDING
    assert not ScriptReview.objects.exists()


def test_an_approver_approves_the_content_shown(
    scripts_dir: Path, now: datetime
) -> None:
    """The form pins the hash of the content on the page."""
    script = script_sync_path(path="ok.py", now=now)
    response = client_for(approver()).post(
        review_url(script),
        {"decision": "approve", "sha256": script.sha256, "note": "reviewed"},
        follow=True,
    )
    assert (
        scripts_admin.MSG_APPROVED.format(path="ok.py", sha=script.sha256[:12])
        in response.content.decode()
    )
    script.refresh_from_db()
    assert (script.status, script.approved_by_name) == (Script.Status.APPROVED, "alice")
    assert "reviewed" in response.content.decode()


def test_approving_content_that_changed_after_the_page_was_shown_fails(
    scripts_dir: Path, now: datetime
) -> None:
    """The file changed under the reviewer: nothing approved, they are told."""
    script = script_sync_path(path="ok.py", now=now)
    (scripts_dir / "ok.py").write_text("print('swapped')\n")
    response = client_for(approver()).post(
        review_url(script),
        {"decision": "approve", "sha256": script.sha256},
        follow=True,
    )
    assert (
        MSG_CHANGED_DURING_REVIEW.format(path="ok.py").replace("'", "&#x27;")
        in response.content.decode()
    )
    script.refresh_from_db()
    assert script.status == Script.Status.PENDING


def test_rejecting_records_the_note_in_the_history(
    scripts_dir: Path, now: datetime
) -> None:
    """The approval history inline shows who rejected it and why."""
    script = script_sync_path(path="ok.py", now=now)
    client = client_for(approver())
    client.post(
        review_url(script),
        {"decision": "reject", "sha256": script.sha256, "note": "calls prod <db>"},
    )
    script.refresh_from_db()
    assert script.status == Script.Status.REJECTED
    html = client.get(change_url(script)).content.decode()
    assert "calls prod &lt;db&gt;" in html
    assert "approval history" in html.lower()


def test_scripts_cannot_be_added_edited_or_deleted_by_hand(
    scripts_dir: Path, now: datetime
) -> None:
    """The registry is written by sync and review only."""
    script = script_sync_path(path="ok.py", now=now)
    client = client_for(make_user("root", superuser=True))
    assert client.get(reverse("admin:jobs_script_add")).status_code == 403
    assert (
        client.get(reverse("admin:jobs_script_delete", args=[script.pk])).status_code
        == 403
    )
    page = client.get(change_url(script)).content.decode()
    assert 'name="_save"' not in page
