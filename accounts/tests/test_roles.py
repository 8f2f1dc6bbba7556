"""Role mapping expansion (pure)."""

from accounts.roles import ADMIN, ALL, ANY, EDITOR, ROLE_RULES, VIEWER, role_permissions

AVAILABLE = [
    ("jobs", "job", "add_job"),
    ("jobs", "job", "change_job"),
    ("jobs", "job", "delete_job"),
    ("jobs", "job", "view_job"),
    ("jobs", "job", "run_job"),
    ("jobs", "script", "view_script"),
    ("jobs", "script", "add_script"),
    ("jobs", "script", "approve_script"),
    ("jobs", "jobrun", "view_jobrun"),
    ("auth", "user", "change_user"),
    ("auth", "permission", "add_permission"),
    ("auth", "permission", "view_permission"),
    ("accounts", "auditevent", "view_auditevent"),
]


def codenames(role: str) -> set[str]:
    """Return the codenames the real mapping gives `role` among AVAILABLE."""
    return {key[2] for key in role_permissions(ROLE_RULES[role], AVAILABLE)}


def test_all_takes_custom_permissions_too() -> None:
    """ALL includes run_job and approve_script."""
    keys = role_permissions([("jobs", ANY, ALL)], AVAILABLE)
    assert ("jobs", "job", "run_job") in keys
    assert ("jobs", "script", "approve_script") in keys
    assert ("auth", "user", "change_user") not in keys


def test_actions_expand_to_the_model_codename() -> None:
    """ "view" means view_<model>, for the named model only."""
    keys = role_permissions([("jobs", "job", ("view",))], AVAILABLE)
    assert keys == {("jobs", "job", "view_job")}


def test_admin_has_everything_but_adding_permissions() -> None:
    """Admin: all jobs permissions, users, the audit log; permissions only viewed."""
    assert codenames(ADMIN) == {c for _, _, c in AVAILABLE} - {"add_permission"}


def test_editor_creates_and_views_but_does_not_change_run_or_approve() -> None:
    """Editor: model-wide change/delete/run come from ownership or grants."""
    assert codenames(EDITOR) == {
        "add_job",
        "view_job",
        "view_script",
        "add_script",
        "view_jobrun",
    }


def test_viewer_only_views() -> None:
    """Viewer: view permissions of jobs and notifications, nothing else."""
    assert codenames(VIEWER) == {"view_job", "view_script", "view_jobrun"}
