"""`ensureadmin`: the first command's admin login."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.management.commands.ensureadmin import MSG_CREATED, MSG_EXISTS

pytestmark = pytest.mark.django_db


def test_creates_a_superuser_once_and_prints_its_password_once(
    settings: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first call creates 'admin' and prints its password; later calls don't."""
    settings.BASE_DIR = tmp_path  # type: ignore[attr-defined]
    call_command("ensureadmin")
    first = capsys.readouterr().out.strip()
    call_command("ensureadmin")
    second = capsys.readouterr().out.strip()
    user = get_user_model().objects.get(username="admin")
    stored_name, password = (tmp_path / "var" / "admin-login.txt").read_text().split()
    assert first == MSG_CREATED.format(
        username="admin", password=password, file="var/admin-login.txt"
    )
    assert second == MSG_EXISTS.format(username="admin", file="var/admin-login.txt")
    assert password not in second
    assert stored_name == "admin"
    assert user.is_superuser is True
    assert user.check_password(password) is True
    assert (tmp_path / "var" / "admin-login.txt").stat().st_mode & 0o077 == 0
