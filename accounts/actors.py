"""Who acts on something: the type services take, and the user saved for it.

The project keeps Django's own user model (`AUTH_USER_MODEL` is not set), so
`User` is the model behind every foreign key to a user, and `request.user` is
a `User` or an `AnonymousUser`. Commands act without a user (`None`).
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied

Actor = User | AnonymousUser | None


def actor_user(actor: Actor) -> User | None:
    """Return the saved user behind `actor`, or None for anonymous or system."""
    if actor is None or isinstance(actor, AnonymousUser) or not actor.pk:
        return None
    return actor


def signed_in_user(user: User | AnonymousUser) -> User:
    """Return the user of a request that only signed-in users reach.

    Views behind the admin's login or `IsAuthenticated` always have one; an
    anonymous user here would be a wiring mistake, so it is refused rather
    than saved as an owner.
    """
    if isinstance(user, AnonymousUser):
        raise PermissionDenied
    return user
