"""Create the Admin, Editor and Viewer groups with their permissions.

The mapping and its expansion are copies of `accounts.roles` as of this
migration (migrations never import app code). Later models get their
permissions from `manage.py syncroles` or from a later migration like this
one.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ALL = "__all__"
ANY = "*"
DEFAULT_ACTIONS = ("add", "change", "delete", "view")
ROLE_RULES = {
    "Admin": (
        ("jobs", ANY, ALL),
        ("notifications", ANY, ALL),
        ("accounts", ANY, ALL),
        ("auth", "user", ALL),
        ("auth", "group", ALL),
        ("auth", "permission", ("view",)),
        ("guardian", ANY, ALL),
    ),
    "Editor": (
        ("jobs", ANY, ("view",)),
        ("notifications", ANY, ("view",)),
        ("jobs", "job", ("add",)),
        ("jobs", "script", ("add", "change")),
        ("jobs", "jobtemplate", ("add", "change")),
        ("notifications", "channel", ("add", "change")),
    ),
    "Viewer": (
        ("jobs", ANY, ("view",)),
        ("notifications", ANY, ("view",)),
    ),
}


def rule_matches(rule, key):
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


def create_roles(apps, schema_editor):
    # Permissions are normally created after the last migration; create them
    # now so that the roles get them on a fresh database too.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(
            app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias
        )
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    available = {
        (p.content_type.app_label, p.content_type.model, p.codename): p
        for p in Permission.objects.select_related("content_type")
    }
    for role, rules in ROLE_RULES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(
            *(
                permission
                for key, permission in available.items()
                if any(rule_matches(rule, key) for rule in rules)
            )
        )


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_RULES).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_audit_event"),
        ("jobs", "0004_scripts_secrets_parameters"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
