"""Fixtures for the accounts tests (role groups and users: root conftest)."""

from __future__ import annotations

from accounts.tests.users import PASSWORD  # noqa: F401 - tests import it here
