"""Roles as auth groups: which model permissions each role's group holds.

Pure Python. `ROLE_RULES` is the one mapping; `role_permissions` expands it
against the permissions that exist. Rules naming models that do not exist
yet (scripts, secrets, templates, channels) simply match nothing until they
do; then `manage.py syncroles`, or a data migration with a copy of this
mapping, gives the roles their permissions.

A rule is (app label, model name or ANY, actions or ALL). An action is a
default one ("view", "add", "change", "delete", meaning `<action>_<model>`)
or a custom codename ("run_job", "approve_script"). ALL takes every
permission of the model, custom ones included.

What each role means (DESIGN.md, "People and permissions"):
- Admin: everything, including approving scripts, users, groups and who may
  do what on each job (guardian's object-permission models).
- Editor: sees everything; creates jobs (and becomes their owner), scripts,
  templates and channels. Changing, deleting and running a job takes
  ownership or a grant: see `jobs.permissions`.
- Viewer: sees everything, changes nothing.
Secret values are shown to nobody: no permission exposes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ADMIN = "Admin"
EDITOR = "Editor"
VIEWER = "Viewer"
ROLES = (ADMIN, EDITOR, VIEWER)

ALL = "__all__"
ANY = "*"

Rule = tuple[str, str, tuple[str, ...] | str]
# (app label, model name, codename)
PermissionKey = tuple[str, str, str]

ROLE_RULES: Mapping[str, tuple[Rule, ...]] = {
    ADMIN: (
        ("jobs", ANY, ALL),
        ("notifications", ANY, ALL),
        ("accounts", ANY, ALL),
        ("auth", "user", ALL),
        ("auth", "group", ALL),
        ("auth", "permission", ("view",)),
        ("guardian", ANY, ALL),
    ),
    EDITOR: (
        ("jobs", ANY, ("view",)),
        ("notifications", ANY, ("view",)),
        ("jobs", "job", ("add",)),
        ("jobs", "script", ("add", "change")),
        ("jobs", "jobtemplate", ("add", "change")),
        ("notifications", "channel", ("add", "change")),
    ),
    VIEWER: (
        ("jobs", ANY, ("view",)),
        ("notifications", ANY, ("view",)),
    ),
}
DEFAULT_ACTIONS = ("add", "change", "delete", "view")


def rule_matches(rule: Rule, key: PermissionKey) -> bool:
    """Return True if permission `key` is one that `rule` grants."""
    app_label, model, actions = rule
    key_app, key_model, codename = key
    if key_app != app_label or model not in (ANY, key_model):
        return False
    if actions == ALL:
        return True
    return any(
        codename == action
        or (action in DEFAULT_ACTIONS and codename == f"{action}_{key_model}")
        for action in actions
    )


def role_permissions(
    rules: Iterable[Rule], available: Iterable[PermissionKey]
) -> set[PermissionKey]:
    """Return the permissions among `available` that any of `rules` grants."""
    rules = tuple(rules)
    return {key for key in available if any(rule_matches(r, key) for r in rules)}
