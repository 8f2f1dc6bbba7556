"""Give the roles their rights on job templates (accounts.roles' mapping).

The roles migration ran before templates existed; this grants what the
mapping says for the two new models, copied here as it stands at this
release: Admin everything, Editor view/add/change templates and view their
versions, Viewer view both.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Admin": {
        "jobtemplate": ("view", "add", "change", "delete"),
        "jobtemplateversion": ("view",),
    },
    "Editor": {
        "jobtemplate": ("view", "add", "change"),
        "jobtemplateversion": ("view",),
    },
    "Viewer": {"jobtemplate": ("view",), "jobtemplateversion": ("view",)},
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("jobs")
    app_config.models_module = True
    create_permissions(
        app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias
    )
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, models in GRANTS.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        for model, actions in models.items():
            codenames = [f"{action}_{model}" for action in actions]
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label="jobs",
                    content_type__model=model,
                    codename__in=codenames,
                )
            )


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0011_job_hooks"),
        ("accounts", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
