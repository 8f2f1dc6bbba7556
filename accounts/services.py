"""Writes to accounts: the first administrator."""

import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction


@transaction.atomic
def admin_ensure(*, username: str, login_file: Path) -> tuple[AbstractUser, str]:
    """Return the superuser `username` and its first password, creating both once.

    The generated password is kept in `login_file` (mode 0600) so that later
    starts can print the login again; a password changed since then is not
    known here, and the file says so only by being out of date.
    """
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        password = secrets.token_urlsafe(12)
        user = user_model.objects.create_superuser(username=username, password=password)
        login_file.parent.mkdir(parents=True, exist_ok=True)
        login_file.touch(mode=0o600)
        login_file.write_text(f"{username}\n{password}\n")
        return user, password
    try:
        stored_name, password = login_file.read_text().split("\n")[:2]
    except (OSError, ValueError):
        return user, ""
    return user, password if stored_name == username else ""
