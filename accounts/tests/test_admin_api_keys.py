"""The API key admin: own keys for everyone, all keys for the Admin role."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.admin import MSG_KEYS_REVOKED
from accounts.models import APIKey, AuditEvent
from accounts.services.api_keys import (
    KEY_PATTERN,
    MSG_EXPIRES_IN_PAST,
    api_key_authenticate,
)
from accounts.tests.keys import create_key

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_apikey_changelist")
ADD = reverse("admin:accounts_apikey_add")


@pytest.fixture
def erin(make_user: Callable[..., User], client: Client) -> User:
    """Sign in an Editor (staff)."""
    user = make_user("erin", "Editor")
    client.force_login(user)
    return user


@pytest.fixture
def root(make_user: Callable[..., User]) -> User:
    """Return an Admin-role staff member (not a superuser)."""
    return make_user("root", "Admin")


def change_url(api_key: APIKey) -> str:
    """Return the admin page of a key."""
    return reverse("admin:accounts_apikey_change", args=[api_key.pk])


def test_adding_shows_the_key_once_in_a_message(client: Client, erin: User) -> None:
    """The new key is the signed-in user's and is shown in the success message."""
    response = client.post(
        ADD, {"name": "laptop", "expires_at_0": "", "expires_at_1": ""}, follow=True
    )
    assert response.status_code == 200
    api_key = APIKey.objects.get()
    assert (api_key.owner, api_key.name) == (erin, "laptop")
    shown = [str(m) for m in response.context["messages"]]
    found = [match.group(0) for text in shown for match in KEY_PATTERN.finditer(text)]
    assert len(found) == 1
    assert api_key_authenticate(raw_key=found[0], now=timezone.now()) == api_key
    assert found[0] not in client.get(change_url(api_key)).content.decode()
    assert found[0] not in client.get(CHANGELIST).content.decode()


def test_adding_is_audited(client: Client, erin: User) -> None:
    """The admin's create goes through the service: one create event."""
    client.post(ADD, {"name": "laptop", "expires_at_0": "", "expires_at_1": ""})
    event = AuditEvent.objects.get(target_type="accounts.apikey")
    assert (event.action, event.actor_repr) == ("create", "erin")


def test_expiry_in_the_past_is_a_form_error(client: Client, erin: User) -> None:
    """The form refuses an expiry that has passed; nothing is created."""
    response = client.post(
        ADD, {"name": "old", "expires_at_0": "2000-01-01", "expires_at_1": "00:00:00"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "expires_at": [MSG_EXPIRES_IN_PAST]
    }
    assert APIKey.objects.count() == 0


def test_staff_member_sees_only_own_keys(
    client: Client, erin: User, root: User
) -> None:
    """An Editor's list holds their keys; another's key page is not found."""
    own, _ = create_key(erin, name="mine")
    theirs, _ = create_key(root, name="theirs")
    response = client.get(CHANGELIST)
    assert list(response.context["cl"].result_list) == [own]
    assert client.get(change_url(own)).status_code == 200
    assert client.get(change_url(theirs)).status_code == 302


def test_admin_role_sees_every_key(client: Client, erin: User, root: User) -> None:
    """The Admin role (accounts permissions) lists and opens everyone's keys."""
    own, _ = create_key(erin)
    client.force_login(root)
    assert list(client.get(CHANGELIST).context["cl"].result_list) == [own]
    assert client.get(change_url(own)).status_code == 200


def test_key_page_never_shows_the_hash(client: Client, erin: User) -> None:
    """The page shows the prefix and status, never the stored hash."""
    api_key, _ = create_key(erin)
    page = client.get(change_url(api_key)).content.decode()
    assert api_key.prefix in page
    assert api_key.hashed_key not in page
    assert "Active" in page


def revoke_action(client: Client, *keys: APIKey) -> list[str]:
    """Run the revoke action on `keys`; return the messages."""
    response = client.post(
        CHANGELIST,
        {"action": "revoke_keys", "_selected_action": [k.pk for k in keys]},
        follow=True,
    )
    return [str(m) for m in response.context["messages"]]


def test_revoke_action_revokes_own_keys(client: Client, erin: User) -> None:
    """The action revokes the selected keys, recording who did it."""
    api_key, _ = create_key(erin)
    assert revoke_action(client, api_key) == [MSG_KEYS_REVOKED.format(count=1)]
    api_key.refresh_from_db()
    assert (api_key.is_revoked, api_key.revoked_by) == (True, erin)
    assert AuditEvent.objects.filter(action="revoke").count() == 1


def test_revoke_action_skips_keys_not_shown(
    client: Client, erin: User, root: User
) -> None:
    """A staff member cannot revoke another's key by posting its id."""
    theirs, _ = create_key(root)
    revoke_action(client, theirs)
    theirs.refresh_from_db()
    assert theirs.is_revoked is False


def test_admin_role_revokes_anyones_key(client: Client, erin: User, root: User) -> None:
    """The Admin role may revoke a leaked key of anyone."""
    api_key, _ = create_key(erin)
    client.force_login(root)
    revoke_action(client, api_key)
    api_key.refresh_from_db()
    assert api_key.revoked_by == root


def test_keys_are_neither_edited_nor_deleted(client: Client, erin: User) -> None:
    """No change form, no delete page: a key is revoked and kept."""
    api_key, _ = create_key(erin)
    delete = reverse("admin:accounts_apikey_delete", args=[api_key.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    client.post(change_url(api_key), {"name": "renamed"})
    api_key.refresh_from_db()
    assert api_key.name == "ci"
