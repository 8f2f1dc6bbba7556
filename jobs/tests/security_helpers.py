"""Helpers for the scripts, secrets and parameters tests (issue 4)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission, User
from django.db import connection

from accounts.tests.factories import UserFactory
from jobs.models import Script, Secret
from jobs.services.approval import script_approve
from jobs.services.scripts import script_sync_path
from jobs.services.secrets import secret_save


def make_user(
    username: str, *, approver: bool = False, superuser: bool = False
) -> User:
    """Create a staff user; `approver` grants jobs.approve_script."""
    model = get_user_model()
    user = UserFactory.staff(username, password="pw", is_superuser=superuser)
    if approver:
        user.user_permissions.add(
            Permission.objects.get(
                content_type__app_label="jobs", codename="approve_script"
            )
        )
    # A fresh instance: Django caches permissions per user object.
    return model.objects.get(pk=user.pk)


def approved_script(path: str, *, by: User, now: datetime) -> Script:
    """Register `path` and approve its current content."""
    script = script_sync_path(path=path, now=now)
    return script_approve(script=script, actor=by, now=now)


def make_secret(name: str, value: str, *, now: datetime) -> Secret:
    """Create a secret through the service."""
    return secret_save(secret=Secret(name=name), value=value, now=now)


def database_text_holding(value: str) -> list[str]:
    """Return "table.column" for every stored cell whose text contains `value`.

    Raw SQL over every table of the database, so nothing the ORM hides
    (encrypted fields, JSON, audit logs) is missed.
    """
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from introspection
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                for column, cell in zip(columns, row, strict=True):
                    if value in _text(cell):
                        found.append(f"{table}.{column}")
    return found


def _text(cell: object) -> str:
    if isinstance(cell, memoryview):
        cell = cell.tobytes()
    if isinstance(cell, bytes):
        return cell.decode(errors="replace")
    return str(cell)
