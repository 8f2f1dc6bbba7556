"""Project-wide pytest fixtures."""

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from hypothesis import settings as hypothesis_settings

from accounts.roles import ROLES
from accounts.services.roles import roles_sync
from accounts.tests.factories import UserFactory
from jobportal import clock
from jobportal.tests.clocks import FrozenClock

# CI replays the same examples every run, so that a red build is
# reproducible; local runs keep exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

EXAMPLE_SCRIPTS = {
    "ok.py": "print('ok')\n",
    "fail.py": "import sys\nprint('bad')\nsys.exit(2)\n",
    "nested/report.sh": "#!/usr/bin/env bash\necho report\n",
}


@pytest.fixture
def scripts_dir(tmp_path: Path, settings: Any) -> Path:
    """Point JOB_PORTAL_SCRIPTS_DIR at a fresh folder of tiny scripts."""
    root = tmp_path / "scripts"
    for name, text in EXAMPLE_SCRIPTS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    settings.JOB_PORTAL_SCRIPTS_DIR = root
    return root


@pytest.fixture
def now() -> datetime:
    """Return a fixed instant: 2026-03-01 00:00 UTC."""
    return datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch, now: datetime) -> FrozenClock:
    """Stop the portal's clock (`jobportal.clock.now`) at `now`; move it by hand.

    The one way tests pin "now" for the admin, the API and the commands:
    ``frozen_clock.set(at)``, ``frozen_clock.advance(seconds)``. The worker
    tests hand the same object to `WorkerLoop(clock=...)`.
    """
    frozen = FrozenClock(now)
    monkeypatch.setattr(clock, "now", frozen)
    return frozen


# A fixed Fernet key for tests that run without JOB_PORTAL_ENCRYPTION_KEY set.
TEST_ENCRYPTION_KEY = "u7Vnd0dBiCVXTuQ2f1lr0u_9sAcpl7Wg6kQ3X1mNnZw="


@pytest.fixture(autouse=True)
def _portal_test_defaults(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give every test an encryption key, and script approval off.

    Approval is on by default in production; tests of other features run
    scripts without approving them first, and the approval tests turn it on
    with the `require_approval` fixture. Both are also exported, so that
    `runworker` and `check` subprocesses see the same.
    """
    if not settings.JOB_PORTAL_ENCRYPTION_KEY:
        settings.JOB_PORTAL_ENCRYPTION_KEY = TEST_ENCRYPTION_KEY
        monkeypatch.setenv("JOB_PORTAL_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)
    settings.JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL = False
    monkeypatch.setenv("JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL", "false")


@pytest.fixture
def require_approval(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Turn script approval on (JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL=true)."""
    settings.JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL = True
    monkeypatch.setenv("JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL", "true")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Hash test users' passwords cheaply (PBKDF2 costs ~0.5 s a user)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def roles(db: None, now: datetime) -> dict[str, Group]:
    """Return the role groups, with the permissions the mapping gives them.

    The data migration creates them, but a transactional test elsewhere
    flushes the database; syncing again is idempotent.
    """
    roles_sync(now=now)
    return {group.name: group for group in Group.objects.filter(name__in=ROLES)}


@pytest.fixture
def make_user(roles: dict[str, Group]) -> Callable[..., User]:
    """Return a function creating a staff user, in a role if given."""

    def make(username: str, role: str | None = None, **fields: Any) -> User:
        return UserFactory.staff(username, role, **fields)

    return make


@pytest.fixture
def api_client() -> Any:
    """Return a DRF test client (authenticate with `force_authenticate`)."""
    from rest_framework.test import APIClient

    return APIClient()
