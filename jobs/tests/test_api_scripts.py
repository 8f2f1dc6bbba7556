"""The scripts API: list, detail with content and diff, approve and reject."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.roles import ADMIN, EDITOR, VIEWER
from jobportal.api.serializers import MSG_UNKNOWN_FIELDS
from jobs.api.access import MSG_FORBIDDEN
from jobs.api.views.scripts import ACTION_REVIEW, ACTION_VIEW, MSG_SHA256
from jobs.models import Job, Script, ScriptReview
from jobs.presentation import (
    MAX_SHOWN_LINES,
    MSG_CUT,
    MSG_NEVER_APPROVED,
    MSG_SAME_AS_APPROVED,
)
from jobs.script_content import sha256_bytes
from jobs.script_paths import MSG_MISSING
from jobs.selectors import MSG_UNREADABLE
from jobs.services.approval import (
    MSG_CHANGED_DURING_REVIEW,
    script_approve,
    script_block_reason,
)
from jobs.services.jobs import job_save
from jobs.services.scripts import script_sync_path

# "now" is pinned to 2026-03-01 00:00 UTC for every test here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

HOSTILE = 'print("<script>alert(1)</script> & done")\nprint(2)\n'
OK_TEXT = "print('ok')\n"
OK_SHA = sha256_bytes(OK_TEXT.encode())


@pytest.fixture
def script(scripts_dir: Path, now: datetime) -> Script:
    """Return ok.py, registered and pending review."""
    return script_sync_path(path="ok.py", now=now)


@pytest.fixture
def ada(make_user: Callable[..., User]) -> User:
    """Return an Admin: may see and approve scripts."""
    return make_user("ada", ADMIN)


@pytest.fixture
def grantee(make_user: Callable[..., User], scripts_dir: Path, now: datetime) -> User:
    """Return a user without a role who was granted one job."""
    user = make_user("nora")
    job = job_save(
        job=Job(name="granted", script="ok.py"),
        schedules=[{"type": "interval", "seconds": 60}],
        now=now,
    )
    assign_perm("view_job", user, job)
    assign_perm("run_job", user, job)
    return User.objects.get(pk=user.pk)


def as_user(client: APIClient, user: User | None) -> APIClient:
    """Authenticate `client` as `user` (None: anonymous)."""
    if user is not None:
        client.force_authenticate(user)
    return client


def detail_url(pk: int | str) -> str:
    """Return a script's detail URL."""
    return reverse("api:script-detail", args=[pk])


def review_url(pk: int | str, decision: str = "approve") -> str:
    """Return a script's approve (or reject) URL."""
    return reverse(f"api:script-{decision}", args=[pk])


# --- who may see scripts -----------------------------------------------------


@pytest.mark.parametrize("role", [ADMIN, EDITOR, VIEWER])
def test_every_role_lists_the_scripts(
    api_client: APIClient,
    make_user: Callable[..., User],
    scripts_dir: Path,
    now: datetime,
    role: str,
) -> None:
    """Admins, Editors and Viewers see every registered script, by path."""
    for path in ("ok.py", "fail.py", "nested/report.sh"):
        script_sync_path(path=path, now=now)
    response = as_user(api_client, make_user("someone", role)).get(
        reverse("api:script-list")
    )
    assert response.status_code == 200
    assert response.data["count"] == 3
    assert [row["path"] for row in response.data["results"]] == [
        "fail.py",
        "nested/report.sh",
        "ok.py",
    ]


def test_a_user_without_a_role_may_not_see_scripts(
    api_client: APIClient, grantee: User, script: Script
) -> None:
    """A grant on a job is no right to read scripts: 403, as in the admin."""
    client = as_user(api_client, grantee)
    forbidden = MSG_FORBIDDEN.format(action=ACTION_VIEW)
    for url in (reverse("api:script-list"), detail_url(script.pk)):
        response = client.get(url)
        assert (response.status_code, response.data["detail"]) == (403, forbidden)


def test_anonymous_clients_must_sign_in(api_client: APIClient, script: Script) -> None:
    """No session, token or key: not authenticated, nothing shown or changed."""
    for response in (
        api_client.get(reverse("api:script-list")),
        api_client.get(detail_url(script.pk)),
        api_client.post(review_url(script.pk), {"sha256": OK_SHA}, format="json"),
    ):
        assert response.status_code in (401, 403)
        assert response.data["detail"].code == "not_authenticated"
    assert not ScriptReview.objects.exists()


def test_an_inactive_user_may_not_see_scripts(
    api_client: APIClient, make_user: Callable[..., User], script: Script
) -> None:
    """A deactivated Admin is refused like anyone else."""
    user = make_user("gone", ADMIN, is_active=False)
    response = as_user(api_client, user).get(reverse("api:script-list"))
    assert response.status_code in (401, 403)


# --- the list ----------------------------------------------------------------


def test_the_list_filters_by_status_path_and_missing(
    api_client: APIClient, ada: User, scripts_dir: Path, now: datetime
) -> None:
    """The admin's filters: status, missing, and a search in the path."""
    for path in ("ok.py", "fail.py", "nested/report.sh"):
        script_sync_path(path=path, now=now)
    script_approve(script=Script.objects.get(path="ok.py"), actor=ada, now=now)
    (scripts_dir / "fail.py").unlink()
    Script.objects.filter(path="fail.py").update(is_missing=True)
    client = as_user(api_client, ada)
    url = reverse("api:script-list")

    def paths(**query: Any) -> list[str]:
        response = client.get(url, query)
        assert response.status_code == 200
        return [row["path"] for row in response.data["results"]]

    assert paths(status="approved") == ["ok.py"]
    assert paths(status="pending") == ["fail.py", "nested/report.sh"]
    assert paths(missing="true") == ["fail.py"]
    assert paths(path="NEST") == ["nested/report.sh"]
    assert paths(ordering="-path") == ["ok.py", "nested/report.sh", "fail.py"]


def test_a_list_row_shows_the_registry_fields(
    api_client: APIClient, ada: User, script: Script, now: datetime
) -> None:
    """Path, status, hash, size and who approved it when."""
    script_approve(script=script, actor=ada, now=now)
    response = as_user(api_client, ada).get(reverse("api:script-list"))
    assert response.data["results"] == [
        {
            "id": script.pk,
            "path": "ok.py",
            "status": "approved",
            "is_missing": False,
            "is_runnable": True,
            "has_changed_since_approval": False,
            "sha256": OK_SHA,
            "size_bytes": len(OK_TEXT),
            "modified_at": response.data["results"][0]["modified_at"],
            "approved_by": "ada",
            "approved_at": "2026-03-01T00:00:00Z",
        }
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "nonsense"}, "status"),
        ({"ordering": "sha256"}, "ordering"),
    ],
)
def test_bad_list_parameters_are_refused(
    api_client: APIClient, ada: User, script: Script, query: dict[str, str], field: str
) -> None:
    """An unknown status or sort field is a 400 naming the parameter."""
    response = as_user(api_client, ada).get(reverse("api:script-list"), query)
    assert response.status_code == 400
    assert list(response.data) == [field]


# --- the detail --------------------------------------------------------------


def test_the_detail_shows_the_content_and_its_hash(
    api_client: APIClient,
    make_user: Callable[..., User],
    scripts_dir: Path,
    now: datetime,
) -> None:
    """The text as it is on disk (JSON, never markup), with the hash to approve."""
    (scripts_dir / "hostile.py").write_text(HOSTILE)
    script = script_sync_path(path="hostile.py", now=now)
    response = as_user(api_client, make_user("vera", VIEWER)).get(detail_url(script.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    content = response.data["content"]
    assert content["text"] == HOSTILE
    assert (
        content["sha256"] == sha256_bytes(HOSTILE.encode()) == response.data["sha256"]
    )
    assert (content["line_count"], content["is_truncated"], content["note"]) == (
        2,
        False,
        None,
    )
    assert response.data["content_error"] is None
    assert response.data["diff"] == {"lines": [], "note": MSG_NEVER_APPROVED}
    assert (response.data["last_review"], response.data["reviews"]) == (None, [])


def test_a_long_file_is_cut_as_in_the_admin(
    api_client: APIClient, ada: User, scripts_dir: Path, now: datetime
) -> None:
    """Only the first MAX_SHOWN_LINES lines are shown, with a note."""
    total = MAX_SHOWN_LINES + 2
    text = "".join(f"print({n})\n" for n in range(1, total + 1))
    (scripts_dir / "long.py").write_text(text)
    script = script_sync_path(path="long.py", now=now)
    content = as_user(api_client, ada).get(detail_url(script.pk)).data["content"]
    assert content["text"].splitlines() == text.splitlines()[:MAX_SHOWN_LINES]
    assert (content["line_count"], content["is_truncated"]) == (total, True)
    assert content["note"] == MSG_CUT.format(shown=MAX_SHOWN_LINES, total=total)
    assert content["sha256"] == sha256_bytes(text.encode())


def test_the_detail_shows_the_last_review_and_the_diff(
    api_client: APIClient, ada: User, script: Script, scripts_dir: Path, now: datetime
) -> None:
    """Who approved, when and why; then the changes made since."""
    script_approve(script=script, actor=ada, note="looks fine", now=now)
    (scripts_dir / "ok.py").write_text("print('ok')\nprint('<b>new</b>')\n")
    data = as_user(api_client, ada).get(detail_url(script.pk)).data
    review = {
        "action": "approve",
        "sha256": OK_SHA,
        "note": "looks fine",
        "actor": "ada",
        "at": "2026-03-01T00:00:00Z",
    }
    assert (data["last_review"], data["reviews"]) == (review, [review])
    assert (data["approved_by"], data["approved_sha256"]) == ("ada", OK_SHA)
    assert data["diff"]["note"] is None
    assert data["diff"]["lines"][:2] == [
        "--- approved 2026-03-01 00:00 UTC by ada",
        "+++ current",
    ]
    assert "+print('<b>new</b>')" in data["diff"]["lines"]


def test_the_diff_of_unchanged_approved_content_says_so(
    api_client: APIClient, ada: User, script: Script, now: datetime
) -> None:
    """Approved and unchanged: no lines, the admin's note."""
    script_approve(script=script, actor=ada, now=now)
    data = as_user(api_client, ada).get(detail_url(script.pk)).data
    assert data["diff"] == {"lines": [], "note": MSG_SAME_AS_APPROVED}


def test_a_missing_file_shows_why_it_cannot_be_read(
    api_client: APIClient, ada: User, script: Script, scripts_dir: Path
) -> None:
    """No content, the admin's error text instead."""
    (scripts_dir / "ok.py").unlink()
    data = as_user(api_client, ada).get(detail_url(script.pk)).data
    error = MSG_UNREADABLE.format(error=MSG_MISSING.format(path="ok.py"))
    assert (data["content"], data["content_error"]) == (None, error)


@pytest.mark.parametrize(
    "pk",
    ["999999", "99999999999999999999", "9" * 5000, "abc", "-1", "\u00b2", "%C2%84"],
)
def test_unknown_and_impossible_ids_are_404(
    api_client: APIClient, ada: User, script: Script, pk: str
) -> None:
    """No such script, an id no column holds, or no number: 404, never 500."""
    client = as_user(api_client, ada)
    response = client.get(f"/api/scripts/{pk}/")
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    response = client.post(f"/api/scripts/{pk}/approve/", {"sha256": OK_SHA})
    assert response.status_code == 404


# --- approve and reject ------------------------------------------------------


def test_an_admin_approves_the_content_seen(
    api_client: APIClient, ada: User, script: Script, now: datetime
) -> None:
    """Approved by hash: a review, the audit event, and the detail back."""
    response = as_user(api_client, ada).post(
        review_url(script.pk), {"sha256": OK_SHA, "note": "reviewed"}, format="json"
    )
    assert response.status_code == 200
    assert (response.data["status"], response.data["approved_by"]) == (
        "approved",
        "ada",
    )
    assert response.data["last_review"]["note"] == "reviewed"
    review = ScriptReview.objects.get()
    assert (review.action, review.actor, review.sha256) == ("approve", ada, OK_SHA)
    event = AuditEvent.objects.get(action=AuditEvent.Action.APPROVE)
    assert (event.actor, event.target_type, event.target_id) == (
        ada,
        "jobs.script",
        str(script.pk),
    )
    assert event.changes["note"] == [None, "reviewed"]


def test_an_approved_script_may_run_when_approval_is_required(
    api_client: APIClient,
    ada: User,
    script: Script,
    now: datetime,
    require_approval: None,
) -> None:
    """Pending blocks the run; approving through the API unblocks it."""
    assert script_block_reason(script_path="ok.py", now=now) is not None
    as_user(api_client, ada).post(
        review_url(script.pk), {"sha256": OK_SHA.upper()}, format="json"
    )
    assert script_block_reason(script_path="ok.py", now=now) is None


@pytest.mark.parametrize("role", [EDITOR, VIEWER])
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_only_approvers_may_review(
    api_client: APIClient,
    make_user: Callable[..., User],
    script: Script,
    role: str,
    decision: str,
) -> None:
    """Editors and Viewers see scripts but get 403 on approve and reject."""
    response = as_user(api_client, make_user("someone", role)).post(
        review_url(script.pk, decision), {"sha256": OK_SHA}, format="json"
    )
    assert response.status_code == 403
    assert response.data["detail"] == MSG_FORBIDDEN.format(action=ACTION_REVIEW)
    assert not ScriptReview.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["approve", "reject"]).exists()


def test_a_user_without_a_role_may_not_review(
    api_client: APIClient, grantee: User, script: Script
) -> None:
    """A job grant gives no right over scripts."""
    response = as_user(api_client, grantee).post(
        review_url(script.pk), {"sha256": OK_SHA}, format="json"
    )
    assert response.status_code == 403
    assert response.data["detail"] == MSG_FORBIDDEN.format(action=ACTION_REVIEW)


def test_content_changed_since_it_was_shown_is_not_approved(
    api_client: APIClient,
    ada: User,
    script: Script,
    scripts_dir: Path,
    require_approval: None,
) -> None:
    """409 with the service's message; the script stays pending."""
    (scripts_dir / "ok.py").write_text("print('swapped')\n")
    response = as_user(api_client, ada).post(
        review_url(script.pk), {"sha256": OK_SHA}, format="json"
    )
    assert response.status_code == 409
    assert response.data["detail"] == MSG_CHANGED_DURING_REVIEW.format(path="ok.py")
    script.refresh_from_db()
    assert script.status == Script.Status.PENDING
    assert not ScriptReview.objects.exists()


def test_approving_a_missing_file_says_it_is_missing(
    api_client: APIClient, ada: User, script: Script, scripts_dir: Path
) -> None:
    """400 naming the problem; nothing approved."""
    (scripts_dir / "ok.py").unlink()
    response = as_user(api_client, ada).post(
        review_url(script.pk), {"sha256": OK_SHA}, format="json"
    )
    assert response.status_code == 400
    assert response.data == {"non_field_errors": [MSG_MISSING.format(path="ok.py")]}
    assert not ScriptReview.objects.exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"sha256": ["This field is required."]}),
        ({"sha256": "abc"}, {"sha256": [MSG_SHA256]}),
        ({"sha256": "g" * 64}, {"sha256": [MSG_SHA256]}),
        (
            {"sha256": OK_SHA, "approved": True},
            {
                "non_field_errors": [
                    MSG_UNKNOWN_FIELDS.format(unknown="approved", known="sha256, note")
                ]
            },
        ),
        (
            ["not", "a", "mapping"],
            {
                "non_field_errors": [
                    "Invalid data. Expected a dictionary, but got list."
                ]
            },
        ),
    ],
)
def test_bad_review_bodies_are_refused(
    api_client: APIClient, ada: User, script: Script, body: Any, errors: dict[str, Any]
) -> None:
    """The hash is required and must look like one; unknown keys are named."""
    response = as_user(api_client, ada).post(review_url(script.pk), body, format="json")
    assert (response.status_code, response.data) == (400, errors)
    assert not ScriptReview.objects.exists()


def test_an_admin_rejects_with_a_note(
    api_client: APIClient, ada: User, script: Script
) -> None:
    """Rejected: why is kept in the history and the audit log."""
    response = as_user(api_client, ada).post(
        review_url(script.pk, "reject"),
        {"sha256": OK_SHA, "note": "calls prod <db>"},
        format="json",
    )
    assert response.status_code == 200
    assert response.data["status"] == "rejected"
    assert response.data["last_review"] == {
        "action": "reject",
        "sha256": OK_SHA,
        "note": "calls prod <db>",
        "actor": "ada",
        "at": "2026-03-01T00:00:00Z",
    }
    event = AuditEvent.objects.get(action=AuditEvent.Action.REJECT)
    assert event.actor == ada
    assert event.changes["status"] == ["pending", "rejected"]
    assert event.changes["note"] == [None, "calls prod <db>"]


def test_rejecting_the_approved_content_blocks_it_again(
    api_client: APIClient,
    ada: User,
    script: Script,
    now: datetime,
    require_approval: None,
) -> None:
    """A rejection revokes the approval of the same content."""
    script_approve(script=script, actor=ada, now=now)
    as_user(api_client, ada).post(
        review_url(script.pk, "reject"), {"sha256": OK_SHA}, format="json"
    )
    assert script_block_reason(script_path="ok.py", now=now) is not None
