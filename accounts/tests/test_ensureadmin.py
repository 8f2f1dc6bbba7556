"""`ensureadmin`: the first command's admin login."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_creates_a_superuser_once_and_prints_the_same_login(
    settings: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first call creates 'admin'; later calls print the same password."""
    settings.BASE_DIR = tmp_path  # type: ignore[attr-defined]
    call_command("ensureadmin")
    first = capsys.readouterr().out.strip()
    call_command("ensureadmin")
    second = capsys.readouterr().out.strip()
    user = get_user_model().objects.get(username="admin")
    password = first.rsplit(" / ", 1)[1]
    assert first == second
    assert first.startswith("Admin login: admin / ")
    assert user.is_superuser is True
    assert user.check_password(password) is True
    assert (tmp_path / "var" / "admin-login.txt").stat().st_mode & 0o077 == 0
