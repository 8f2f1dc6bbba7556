"""Encrypt secret values at rest with Fernet; rotate keys with MultiFernet.

Pure Python. The keys arrive as the raw text of JOB_PORTAL_ENCRYPTION_KEY: a
comma-separated list of Fernet keys. The first key encrypts; every key
decrypts, so that after adding a new key in front, values written under the
old one stay readable until `reencrypt` (``manage.py rotatekey``) has moved
them to the new one and the old key can be dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from jobs.errors import JobsError

SETTING = "JOB_PORTAL_ENCRYPTION_KEY"
MSG_KEY_MISSING = (
    "JOB_PORTAL_ENCRYPTION_KEY is not set: run './portal start' once (it adds a "
    "random key to .env) or set it to the output of "
    "'python -c \"from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())\"'."
)
MSG_KEY_MALFORMED = (
    "JOB_PORTAL_ENCRYPTION_KEY: key {position} of {count} is not a Fernet key "
    "(32 url-safe base64-encoded bytes, 44 characters ending in '=')."
)
MSG_UNDECRYPTABLE = (
    "The stored value cannot be decrypted with any key in "
    "JOB_PORTAL_ENCRYPTION_KEY (was the key that encrypted it removed?)."
)


class EncryptionKeyError(JobsError, ValueError):
    """JOB_PORTAL_ENCRYPTION_KEY is missing or holds a malformed key."""


class DecryptionError(JobsError, ValueError):
    """A stored value cannot be decrypted with any configured key."""


def generate_key() -> str:
    """Return a fresh random Fernet key as text."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(raw: str) -> list[bytes]:
    """Return the keys in `raw` (comma-separated), first one first.

    Raise `EncryptionKeyError` when there is none or one is malformed; the
    message says which one by position, never its value.
    """
    parts = [part.strip() for part in (raw or "").split(",")]
    keys = [part for part in parts if part]
    if not keys:
        raise EncryptionKeyError(MSG_KEY_MISSING)
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise EncryptionKeyError(
                MSG_KEY_MALFORMED.format(position=position, count=len(keys))
            ) from None
    return [key.encode("ascii") for key in keys]


def encrypt(value: str, *, keys: Sequence[bytes]) -> str:
    """Return `value` encrypted under the first key, as a text token."""
    return _fernet(keys).encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str, *, keys: Sequence[bytes]) -> str:
    """Return the value `token` holds, trying every key.

    Raise `DecryptionError` if no key can decrypt it.
    """
    try:
        return _fernet(keys).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise DecryptionError(MSG_UNDECRYPTABLE) from None


def reencrypt(token: str, *, keys: Sequence[bytes]) -> str:
    """Return `token` encrypted again under the first key.

    Raise `DecryptionError` if no key can decrypt it.
    """
    try:
        return _fernet(keys).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise DecryptionError(MSG_UNDECRYPTABLE) from None


def _fernet(keys: Sequence[bytes]) -> MultiFernet:
    if not keys:
        raise EncryptionKeyError(MSG_KEY_MISSING)
    return MultiFernet([Fernet(key) for key in keys])
