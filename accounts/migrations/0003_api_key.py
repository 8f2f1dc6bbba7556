"""API keys; the Admin role gets their permissions ("accounts", ANY, ALL).

The Admin role's rule is copied from `accounts.roles` (migrations never
import app code); Editors and Viewers get nothing: every user manages their
own keys without a model permission.
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models


def give_admin_role_api_key_permissions(apps, schema_editor):
    # Permissions are normally created after the last migration; create them
    # now so that the role gets them on a fresh database too.
    app_config = apps.get_app_config("accounts")
    app_config.models_module = True
    create_permissions(
        app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias
    )
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin_role = Group.objects.filter(name="Admin").first()
    if admin_role is None:
        return
    admin_role.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="accounts", content_type__model="apikey"
        )
    )


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_roles'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='APIKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text="What the key is for, e.g. 'CI deploys'.", max_length=100)),
                ('prefix', models.CharField(editable=False, max_length=16, unique=True)),
                ('hashed_key', models.CharField(editable=False, help_text='SHA-256 of the full key, in hex.', max_length=64)),
                ('created_at', models.DateTimeField(editable=False)),
                ('expires_at', models.DateTimeField(blank=True, help_text='Empty: the key never expires.', null=True)),
                ('revoked_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('last_used_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_keys', to=settings.AUTH_USER_MODEL)),
                ('revoked_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API key',
                'ordering': ('-created_at', '-pk'),
            },
        ),
        # Reverse: a group keeping the permissions of a dropped model harms
        # nothing, and going forward again adds them again.
        migrations.RunPython(
            give_admin_role_api_key_permissions, migrations.RunPython.noop
        ),
    ]
