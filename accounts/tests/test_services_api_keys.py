"""API key services: format, hashing, expiry, revocation and last use."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from accounts.models import APIKey, AuditEvent
from accounts.services.api_keys import (
    MSG_EXPIRED,
    MSG_EXPIRES_IN_PAST,
    MSG_INVALID,
    MSG_OWNER_INACTIVE,
    MSG_REVOKED,
    APIKeyExpiredError,
    APIKeyInvalidError,
    APIKeyOwnerInactiveError,
    APIKeyRevokedError,
    api_key_authenticate,
    api_key_revoke,
)
from accounts.tests.keys import create_key

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


@pytest.fixture
def owner(make_user: Callable[..., User]) -> User:
    """Return an Editor who owns the keys."""
    return make_user("erin", "Editor")


def test_key_has_label_visible_prefix_and_long_secret(
    owner: User, now: datetime
) -> None:
    """The full key is jtp_<8-character prefix>_<43-character secret>."""
    api_key, raw_key = create_key(owner, now=now)
    label, prefix, secret = raw_key.split("_", 2)
    assert (label, prefix, len(prefix), len(secret)) == ("jtp", api_key.prefix, 8, 43)


def test_only_the_sha256_of_the_key_is_stored(owner: User, now: datetime) -> None:
    """The row holds the key's SHA-256, never the key or its secret part."""
    api_key, raw_key = create_key(owner, now=now)
    stored = APIKey.objects.filter(pk=api_key.pk).values().get()
    assert stored["hashed_key"] == hashlib.sha256(raw_key.encode()).hexdigest()
    secret = raw_key.split("_", 2)[2]
    assert not any(secret in str(value) for value in stored.values())


def test_keys_differ(owner: User, now: datetime) -> None:
    """Two keys never share a prefix or a secret."""
    (first, first_raw), (second, second_raw) = (
        create_key(owner, now=now),
        create_key(owner, now=now),
    )
    assert first.prefix != second.prefix
    assert first_raw != second_raw


def test_creating_is_audited_without_the_key(owner: User, now: datetime) -> None:
    """A create event names the key and its prefix; the key is nowhere in it."""
    api_key, raw_key = create_key(owner, name="deploys", now=now)
    event = AuditEvent.objects.get(action="create", target_type="accounts.apikey")
    assert (event.actor, event.target_id, event.target_repr) == (
        owner,
        str(api_key.pk),
        f"deploys ({api_key.prefix})",
    )
    assert event.changes == {
        "name": [None, "deploys"],
        "prefix": [None, api_key.prefix],
        "owner": [None, "erin"],
        "expires_at": [None, None],
    }
    assert raw_key.split("_", 2)[2] not in str(event.changes)


def test_expiry_in_the_past_is_refused(owner: User, now: datetime) -> None:
    """An expiry time not after now is a field error."""
    with pytest.raises(ValidationError) as caught:
        create_key(owner, now=now, expires_at=now)
    assert caught.value.message_dict == {"expires_at": [MSG_EXPIRES_IN_PAST]}
    assert APIKey.objects.count() == 0


def test_good_key_authenticates_as_itself(owner: User, now: datetime) -> None:
    """The full key returns its row, with its owner."""
    api_key, raw_key = create_key(owner, now=now)
    found = api_key_authenticate(raw_key=raw_key, now=now)
    assert (found, found.owner) == (api_key, owner)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"),
        lambda key: key.replace("jtp_", "xyz_"),
        lambda key: key[:-1],
        lambda key: key + "A",
        lambda key: "",
        lambda key: "jtp_" + "\x00" * 8 + "_" + "A" * 43,
        lambda key: key.upper(),
    ],
    ids=["changed", "label", "short", "long", "empty", "nul", "case"],
)
def test_wrong_key_is_invalid(
    owner: User, now: datetime, mangle: Callable[[str], str]
) -> None:
    """Anything but the exact key is refused as invalid."""
    _, raw_key = create_key(owner, now=now)
    with pytest.raises(APIKeyInvalidError, match=f"^{MSG_INVALID}$"):
        api_key_authenticate(raw_key=mangle(raw_key), now=now)


def test_unknown_prefix_is_invalid(owner: User, now: datetime) -> None:
    """A well-formed key nobody holds is invalid."""
    with pytest.raises(APIKeyInvalidError, match=f"^{MSG_INVALID}$"):
        api_key_authenticate(raw_key="jtp_ABCDEFGH_" + "A" * 43, now=now)


def test_revoked_key_is_refused(owner: User, now: datetime) -> None:
    """After revocation the key no longer authenticates."""
    api_key, raw_key = create_key(owner, now=now)
    api_key_revoke(api_key=api_key, actor=owner, now=now)
    with pytest.raises(APIKeyRevokedError, match=f"^{MSG_REVOKED}$"):
        api_key_authenticate(raw_key=raw_key, now=now + MINUTE)


def test_wrong_secret_of_revoked_key_is_only_invalid(
    owner: User, now: datetime
) -> None:
    """A guess with a revoked key's prefix learns nothing about it."""
    api_key, raw_key = create_key(owner, now=now)
    api_key_revoke(api_key=api_key, actor=owner, now=now)
    with pytest.raises(APIKeyInvalidError, match=f"^{MSG_INVALID}$"):
        api_key_authenticate(raw_key=raw_key[:-1] + "!", now=now)


def test_key_expires_at_its_expiry_time(owner: User, now: datetime) -> None:
    """A key works until its expiry time and is refused from then on."""
    _, raw_key = create_key(owner, now=now, expires_at=now + MINUTE)
    api_key_authenticate(raw_key=raw_key, now=now + MINUTE - timedelta(seconds=1))
    with pytest.raises(APIKeyExpiredError, match=f"^{MSG_EXPIRED}$"):
        api_key_authenticate(raw_key=raw_key, now=now + MINUTE)


def test_key_of_inactive_owner_is_refused(owner: User, now: datetime) -> None:
    """Deactivating a user stops their keys."""
    _, raw_key = create_key(owner, now=now)
    owner.is_active = False
    owner.save()
    with pytest.raises(APIKeyOwnerInactiveError, match=f"^{MSG_OWNER_INACTIVE}$"):
        api_key_authenticate(raw_key=raw_key, now=now)


def test_revoking_records_who_and_when_and_is_audited(
    owner: User, make_user: Callable[..., User], now: datetime
) -> None:
    """Revocation sets revoked_at and revoked_by and writes one revoke event."""
    api_key, _ = create_key(owner, now=now)
    admin = make_user("root", "Admin")
    api_key_revoke(api_key=api_key, actor=admin, ip="192.0.2.9", now=now + MINUTE)
    api_key.refresh_from_db()
    assert (api_key.revoked_at, api_key.revoked_by) == (now + MINUTE, admin)
    assert api_key.status(now=now) == APIKey.Status.REVOKED
    event = AuditEvent.objects.get(action="revoke")
    assert (event.actor, event.target_id, event.ip) == (
        admin,
        str(api_key.pk),
        "192.0.2.9",
    )
    assert event.changes == {"revoked_at": [None, "2026-03-01T00:01:00Z"]}


def test_revoking_twice_changes_nothing(owner: User, now: datetime) -> None:
    """A second revoke keeps the first time and records no second event."""
    api_key, _ = create_key(owner, now=now)
    api_key_revoke(api_key=api_key, actor=owner, now=now)
    api_key_revoke(api_key=api_key, actor=owner, now=now + MINUTE)
    assert api_key.revoked_at == now
    assert AuditEvent.objects.filter(action="revoke").count() == 1


@pytest.mark.parametrize(
    ("later_seconds", "recorded_seconds"),
    [(30, 0), (59, 0), (60, 60), (61, 61)],
)
def test_last_use_is_written_at_most_once_a_minute(
    owner: User, now: datetime, later_seconds: int, recorded_seconds: int
) -> None:
    """A use less than a minute after the recorded one is not written."""
    api_key, raw_key = create_key(owner, now=now)
    api_key_authenticate(raw_key=raw_key, now=now)
    api_key_authenticate(raw_key=raw_key, now=now + timedelta(seconds=later_seconds))
    api_key.refresh_from_db()
    assert api_key.last_used_at == now + timedelta(seconds=recorded_seconds)
