"""Role groups: the data migration and `syncroles` give the mapped permissions."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from accounts.models import AuditEvent
from accounts.roles import ADMIN, EDITOR, ROLES, VIEWER

pytestmark = pytest.mark.django_db


def codenames(role: str) -> set[str]:
    """Return the role group's permissions as "app.codename"."""
    group = Group.objects.get(name=role)
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


def syncroles(*args: str) -> str:
    """Run syncroles and return its output."""
    out = StringIO()
    call_command("syncroles", *args, stdout=out)
    return out.getvalue()


def test_syncroles_is_idempotent(roles: dict[str, Group]) -> None:
    """A second run changes nothing and says so."""
    assert syncroles() == "".join(f"{role}: up to date\n" for role in ROLES)


def test_syncroles_restores_a_removed_permission_and_audits_it(
    roles: dict[str, Group],
) -> None:
    """A missing mapped permission is added back; the group change is audited."""
    roles[EDITOR].permissions.remove(Permission.objects.get(codename="add_job"))
    output = syncroles()
    assert "Editor: added jobs.add_job, removed nothing\n" in output
    event = AuditEvent.objects.filter(target_type="auth.group").latest("pk")
    assert (event.action, event.target_repr, event.actor_repr) == (
        "update",
        EDITOR,
        "",
    )
    assert "jobs.add_job" in event.changes["permissions"][1]
    assert "jobs.add_job" not in event.changes["permissions"][0]


def test_syncroles_keeps_hand_given_permissions_unless_pruned(
    roles: dict[str, Group],
) -> None:
    """Extra permissions stay; --prune removes them."""
    roles[VIEWER].permissions.add(Permission.objects.get(codename="change_job"))
    assert "Viewer: up to date" in syncroles()
    assert "jobs.change_job" in codenames(VIEWER)
    assert "Viewer: added nothing, removed jobs.change_job" in syncroles("--prune")
    assert "jobs.change_job" not in codenames(VIEWER)


def test_syncroles_creates_a_deleted_role(roles: dict[str, Group]) -> None:
    """A role group deleted by hand is created again."""
    roles[VIEWER].delete()
    assert syncroles().splitlines()[2].startswith("Viewer: created, added ")
    assert "jobs.view_job" in codenames(VIEWER)


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_creates_the_roles() -> None:
    """Migrating accounts forward creates the three groups with their rights."""
    call_command("migrate", "accounts", "0001", verbosity=0)
    assert not Group.objects.filter(name__in=ROLES).exists()
    # Every app forward: going back unapplied the jobs migrations that depend
    # on the roles (0012_template_role_permissions and those after it).
    call_command("migrate", verbosity=0)
    assert {
        "jobs.change_job",
        "jobs.delete_job",
        "jobs.run_job",
        "jobs.approve_script",
        "auth.change_user",
        "guardian.add_userobjectpermission",
        "accounts.view_auditevent",
    } <= codenames(ADMIN)
    assert "auth.add_permission" not in codenames(ADMIN)
    assert {"jobs.add_job", "jobs.view_job", "jobs.view_jobrun"} <= codenames(EDITOR)
    assert not {"jobs.change_job", "jobs.run_job", "jobs.approve_script"} & codenames(
        EDITOR
    )
    assert all(name.split(".")[1].startswith("view_") for name in codenames(VIEWER))
    assert "jobs.view_job" in codenames(VIEWER)
