"""Create, check and revoke API keys.

A key is "jtp_<prefix>_<secret>": the prefix (8 letters and digits) is
stored in the clear to find the key and to show it; the secret is 32 random
bytes. Only the SHA-256 of the whole key is stored: the secret's entropy
makes a slow hash pointless, and comparing digests with
`hmac.compare_digest` keeps the comparison constant-time. The full key is
returned once, by `api_key_create`, and never stored or logged.

Checking a key (`api_key_authenticate`) tells a wrong key apart from a
revoked or expired one only once the secret matches, so that a guess learns
nothing about which prefixes exist.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import string
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from accounts.actors import Actor, actor_user
from accounts.models import APIKey, AuditEvent
from accounts.services.audit import audit_record

logger = logging.getLogger(__name__)

KEY_LABEL = "jtp"
PREFIX_LENGTH = 8
PREFIX_ALPHABET = string.ascii_letters + string.digits
SECRET_BYTES = 32
# token_urlsafe(32) gives 43 characters of the URL-safe base64 alphabet.
KEY_PATTERN = re.compile(
    rf"{KEY_LABEL}_(?P<prefix>[A-Za-z0-9]{{{PREFIX_LENGTH}}})_[A-Za-z0-9_-]{{43}}"
)
# The longest "expires in N days" the API and the command accept.
MAX_EXPIRES_IN_DAYS = 3650
# A key's last use is recorded at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=1)

MSG_INVALID = "Invalid API key."
MSG_REVOKED = "API key revoked."
MSG_EXPIRED = "API key expired."
MSG_OWNER_INACTIVE = "The API key's owner is inactive."
MSG_EXPIRES_IN_PAST = "Choose an expiry time in the future."


class APIKeyError(Exception):
    """A key that does not authenticate, with the message for the client."""


class APIKeyInvalidError(APIKeyError):
    """The key is malformed or matches no stored key."""


class APIKeyRevokedError(APIKeyError):
    """The key was revoked."""


class APIKeyExpiredError(APIKeyError):
    """The key's expiry time has passed."""


class APIKeyOwnerInactiveError(APIKeyError):
    """The key's owner is no longer active."""


def api_key_hash(raw_key: str) -> str:
    """Return the stored form of a full key: its SHA-256, in hex."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _new_prefix() -> str:
    """Return a random prefix not used by any key yet."""
    while True:
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        # 62**8 prefixes make a clash rare; the unique constraint backs this up.
        if not APIKey.objects.filter(prefix=prefix).exists():
            return prefix


def api_key_create(
    *, api_key: APIKey, actor: Actor, ip: str | None = None, now: datetime
) -> tuple[APIKey, str]:
    """Save the new key `api_key` and return it with its full key.

    `api_key` is unsaved, with its owner, name and expiry set. The full key
    is in the return value only: show it to the user once.
    An expiry time must lie after `now`. Audited as a create (never with the
    key).
    """
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise ValidationError({"expires_at": [MSG_EXPIRES_IN_PAST]})
    api_key.prefix = _new_prefix()
    raw_key = f"{KEY_LABEL}_{api_key.prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    api_key.hashed_key = api_key_hash(raw_key)
    api_key.created_at = now
    api_key.full_clean()
    with transaction.atomic():
        api_key.save(force_insert=True)
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CREATE,
            target=api_key,
            changes={
                "name": [None, api_key.name],
                "prefix": [None, api_key.prefix],
                "owner": [None, api_key.owner.get_username()],
                "expires_at": [None, api_key.expires_at],
            },
            ip=ip,
            now=now,
        )
    logger.info("API key %s created for %s", api_key.prefix, api_key.owner)
    return api_key, raw_key


def api_key_revoke(
    *, api_key: APIKey, actor: Actor, ip: str | None = None, now: datetime
) -> APIKey:
    """Revoke `api_key` at `now` and return it; revoking twice changes nothing.

    The key stays as a record. Audited as a revoke, once.
    """
    revoked_by = actor_user(actor)
    with transaction.atomic():
        # Conditional: of two revokes at once, only one records an event.
        changed = APIKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=revoked_by
        )
        if changed:
            audit_record(
                actor=actor,
                action=AuditEvent.Action.REVOKE,
                target=api_key,
                changes={"revoked_at": [None, now]},
                ip=ip,
                now=now,
            )
    api_key.refresh_from_db(fields=["revoked_at", "revoked_by"])
    if changed:
        logger.info("API key %s revoked", api_key.prefix)
    return api_key


def api_key_authenticate(*, raw_key: str, now: datetime) -> APIKey:
    """Return the active key `raw_key` (with its owner), noting its use at `now`.

    Raises an `APIKeyError` subclass, whose message is for the client, when
    the key is unknown, revoked or expired, or its owner is inactive.
    """
    match = KEY_PATTERN.fullmatch(raw_key)
    if match is None:
        raise APIKeyInvalidError(MSG_INVALID)
    api_key = (
        APIKey.objects.select_related("owner")
        .filter(prefix=match.group("prefix"))
        .first()
    )
    if api_key is None or not hmac.compare_digest(
        api_key.hashed_key, api_key_hash(raw_key)
    ):
        raise APIKeyInvalidError(MSG_INVALID)
    if api_key.is_revoked:
        raise APIKeyRevokedError(MSG_REVOKED)
    if api_key.is_expired(now=now):
        raise APIKeyExpiredError(MSG_EXPIRED)
    if not api_key.owner.is_active:
        raise APIKeyOwnerInactiveError(MSG_OWNER_INACTIVE)
    api_key_mark_used(api_key=api_key, now=now)
    return api_key


def api_key_mark_used(*, api_key: APIKey, now: datetime) -> APIKey:
    """Set `last_used_at` to `now` unless it was set less than a minute ago."""
    recent = now - LAST_USED_RESOLUTION
    if api_key.last_used_at is not None and api_key.last_used_at > recent:
        return api_key
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=recent)
    if APIKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=now):
        api_key.last_used_at = now
    return api_key
