"""The templates API: CRUD, versions (diff, restore) and instantiate, per role."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.roles import ADMIN, EDITOR, VIEWER
from jobs.api.access import MSG_FORBIDDEN
from jobs.models import Job, JobTemplate
from jobs.template_text import MSG_MISSING_VALUE, MSG_UNKNOWN_PLACEHOLDER
from jobs.tests.template_helpers import template_library

__all__ = ["template_library"]

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("frozen_clock", "template_library"),
]

DOCUMENT: dict[str, Any] = {
    "name": "greeter",
    "category": "Examples",
    "description": "Say hello",
    "parameters": [{"name": "who", "default": "world", "description": "Whom"}],
    "body": {
        "name": "greet",
        "script": "ok.py",
        "args": ["{{ who }}"],
        "schedules": [{"type": "manual"}],
    },
}


@pytest.fixture
def client_as(
    api_client: APIClient, make_user: Callable[..., User]
) -> Callable[[str], APIClient]:
    """Return a function signing the API client in as a user of a role."""

    def sign_in(role: str) -> APIClient:
        api_client.force_authenticate(make_user(role.lower(), role))
        return api_client

    return sign_in


def create(client: APIClient, **changes: Any) -> Any:
    """POST a template document; return the response."""
    return client.post("/api/templates", {**DOCUMENT, **changes}, format="json")


def test_an_editor_creates_and_changes_a_template_with_versions(
    client_as: Callable[[str], APIClient],
) -> None:
    """Create is version 1; a PATCH is version 2; both audited."""
    client = client_as(EDITOR)
    created = create(client)
    assert created.status_code == 201, created.data
    assert (created.data["name"], created.data["version"]) == ("greeter", 1)
    pk = created.data["id"]
    changed = client.patch(
        f"/api/templates/{pk}", {"description": "Greet"}, format="json"
    )
    assert (changed.status_code, changed.data["version"]) == (200, 2)
    assert changed.data["body"] == DOCUMENT["body"]
    actions = AuditEvent.objects.filter(target_type="jobs.jobtemplate").order_by("pk")
    assert list(actions.values_list("action", flat=True)) == ["create", "update"]


def test_a_viewer_reads_templates_but_may_not_write(
    client_as: Callable[[str], APIClient],
) -> None:
    """Viewers list the library; creating or instantiating is 403."""
    client = client_as(VIEWER)
    listed = client.get("/api/templates?category=Data")
    assert [t["name"] for t in listed.data["results"]] == [
        "API data fetch",
        "Report generation",
    ]
    refused = create(client)
    assert refused.status_code == 403
    assert refused.data["detail"] == MSG_FORBIDDEN.format(action="create templates")
    pk = JobTemplate.objects.get(name="File cleanup").pk
    refused = client.post(f"/api/templates/{pk}/instantiate", {}, format="json")
    assert refused.data["detail"] == MSG_FORBIDDEN.format(action="create jobs")


def test_an_undeclared_placeholder_is_a_400_naming_it(
    client_as: Callable[[str], APIClient],
) -> None:
    """The body's placeholders must be declared parameters."""
    body = {**DOCUMENT["body"], "args": ["{{ whom }}"]}
    refused = create(client_as(ADMIN), body=body)
    assert refused.status_code == 400
    assert refused.data == {"body": [MSG_UNKNOWN_PLACEHOLDER.format(name="whom")]}


def test_instantiate_with_overrides_creates_an_owned_job(
    client_as: Callable[[str], APIClient], scripts_dir: Path
) -> None:
    """The values fill the placeholders; the job remembers the version."""
    client = client_as(EDITOR)
    pk = create(client).data["id"]
    made = client.post(
        f"/api/templates/{pk}/instantiate",
        {"name": "greet-alice", "values": {"who": "alice"}},
        format="json",
    )
    assert made.status_code == 201, made.data
    job = Job.objects.get(pk=made.data["id"])
    assert (job.name, job.args, job.owner.username if job.owner else None) == (
        "greet-alice",
        ["alice"],
        "editor",
    )
    assert made.data["template_version"] == 1
    assert made["Location"] == f"/api/jobs/{job.pk}"


def test_instantiate_names_a_missing_required_value(
    client_as: Callable[[str], APIClient], scripts_dir: Path
) -> None:
    """The API fetch template needs a URL: a 400 naming it, no job."""
    pk = JobTemplate.objects.get(name="API data fetch").pk
    refused = client_as(EDITOR).post(
        f"/api/templates/{pk}/instantiate", {"values": {}}, format="json"
    )
    assert refused.status_code == 400
    assert refused.data == {"parameters": [MSG_MISSING_VALUE.format(name="url")]}
    assert not Job.objects.exists()


def test_version_diff_and_restore(client_as: Callable[[str], APIClient]) -> None:
    """The diff lists the change; restore makes version 3 equal to version 1."""
    client = client_as(ADMIN)
    pk = create(client).data["id"]
    client.patch(f"/api/templates/{pk}", {"category": "Misc"}, format="json")
    versions = client.get(f"/api/template-versions?template={pk}").data["results"]
    assert [v["number"] for v in versions] == [2, 1]
    diff = client.get(f"/api/template-versions/{versions[0]['id']}/diff").data
    assert [c["text"] for c in diff["changes"]] == ["category: 'Examples' → 'Misc'"]
    restored = client.post(f"/api/template-versions/{versions[1]['id']}/restore")
    assert (restored.status_code, restored.data["version"]) == (200, 3)
    assert restored.data["category"] == "Examples"


def test_an_editor_may_not_restore_without_the_right(
    client_as: Callable[[str], APIClient],
) -> None:
    """A Viewer's restore is a 403."""
    version = JobTemplate.objects.get(name="File cleanup").versions.get()
    refused = client_as(VIEWER).post(f"/api/template-versions/{version.pk}/restore")
    assert refused.status_code == 403


def test_a_jobs_template_origin_and_the_templates_newer_changes(
    client_as: Callable[[str], APIClient], scripts_dir: Path
) -> None:
    """After the template changes, the job's origin lists what changed."""
    client = client_as(ADMIN)
    pk = create(client).data["id"]
    job_id = client.post(
        f"/api/templates/{pk}/instantiate", {"name": "g"}, format="json"
    ).data["id"]
    fresh = client.get(f"/api/jobs/{job_id}/template").data
    assert (fresh["version"], fresh["is_outdated"], fresh["changes"]) == (1, False, [])
    client.patch(f"/api/templates/{pk}", {"description": "New"}, format="json")
    origin = client.get(f"/api/jobs/{job_id}/template").data
    assert (origin["template_name"], origin["version"], origin["latest_version"]) == (
        "greeter",
        1,
        2,
    )
    assert origin["is_outdated"] is True
    assert [c["text"] for c in origin["changes"]] == [
        "description: 'Say hello' → 'New'"
    ]


def test_a_job_not_made_from_a_template_has_no_origin(
    client_as: Callable[[str], APIClient], scripts_dir: Path
) -> None:
    """Nulls and no changes; an unknown job is a 404."""
    client = client_as(ADMIN)
    job = client.post(
        "/api/jobs",
        {"name": "plain", "script": "ok.py", "schedules": [{"type": "manual"}]},
        format="json",
    ).data
    origin = client.get(f"/api/jobs/{job['id']}/template").data
    assert (origin["template"], origin["version"], origin["is_outdated"]) == (
        None,
        None,
        False,
    )
    assert client.get("/api/jobs/999999/template").status_code == 404
