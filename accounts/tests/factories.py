"""factory_boy factories for users: the one place that knows how to build one.

    UserFactory.create(username="alice")      # no role, not staff
    UserFactory.staff("eddie", role=EDITOR)   # signs in to the admin
    UserFactory.admin("root")                 # staff in the Admin role

Call `.create()` rather than the class itself: its return type is the
model, which mypy checks.

Users get `PASSWORD` (hashed by whatever PASSWORD_HASHERS says). A role
group must exist: the data migration creates them, and the `roles` fixture
syncs them again after a transactional test has flushed the database.
"""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import Group, User

from accounts.roles import ADMIN, EDITOR, VIEWER
from accounts.tests.users import PASSWORD


def _add_role(user: User, create: bool, extracted: str | None, **kwargs: Any) -> None:
    """Put the user in the role group named by `role=`, if any."""
    if create and extracted is not None:
        user.groups.add(Group.objects.get(name=extracted))


class UserFactory(factory.django.DjangoModelFactory[User]):
    """A user without a role, who may not use the admin unless told."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user-{n}")
    password = factory.django.Password(PASSWORD)

    role = factory.PostGeneration(_add_role)

    @classmethod
    def staff(cls, username: str, role: str | None = None, **fields: Any) -> User:
        """Return a staff user (admin sign-in), in `role` if given."""
        fields.setdefault("is_staff", True)
        return cls.create(username=username, role=role, **fields)

    @classmethod
    def admin(cls, username: str, **fields: Any) -> User:
        """Return a staff user in the Admin role."""
        return cls.staff(username, ADMIN, **fields)

    @classmethod
    def editor(cls, username: str, **fields: Any) -> User:
        """Return a staff user in the Editor role."""
        return cls.staff(username, EDITOR, **fields)

    @classmethod
    def viewer(cls, username: str, **fields: Any) -> User:
        """Return a staff user in the Viewer role."""
        return cls.staff(username, VIEWER, **fields)
