"""Encryption of secret values at rest: Fernet, several keys, rotation."""

import pytest
from cryptography.fernet import Fernet

from jobs import crypto

KEY_A = "u7Vnd0dBiCVXTuQ2f1lr0u_9sAcpl7Wg6kQ3X1mNnZw="
KEY_B = "Y2ktdGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcyE="


def test_a_value_round_trips_and_the_token_does_not_contain_it() -> None:
    """encrypt then decrypt gives the value back; the token hides it."""
    keys = crypto.parse_keys(KEY_A)
    token = crypto.encrypt("hunter2-Ünïcode", keys=keys)
    assert "hunter2" not in token
    assert crypto.decrypt(token, keys=keys) == "hunter2-Ünïcode"


def test_the_first_key_encrypts_and_every_key_decrypts() -> None:
    """With "B,A", a token made under A still decrypts; new ones use B."""
    old_token = crypto.encrypt("v", keys=crypto.parse_keys(KEY_A))
    both = crypto.parse_keys(f"{KEY_B}, {KEY_A}")
    assert crypto.decrypt(old_token, keys=both) == "v"
    new_token = crypto.encrypt("v", keys=both)
    assert Fernet(KEY_B).decrypt(new_token.encode()) == b"v"


def test_reencrypt_moves_a_token_to_the_first_key() -> None:
    """After reencrypt, the old key alone is no longer needed."""
    old_token = crypto.encrypt("v", keys=crypto.parse_keys(KEY_A))
    rotated = crypto.reencrypt(old_token, keys=crypto.parse_keys(f"{KEY_B},{KEY_A}"))
    assert crypto.decrypt(rotated, keys=crypto.parse_keys(KEY_B)) == "v"


def test_a_token_no_key_decrypts_raises_a_clear_error() -> None:
    """A removed key: DecryptionError with the message, not InvalidToken."""
    token = crypto.encrypt("v", keys=crypto.parse_keys(KEY_A))
    with pytest.raises(crypto.DecryptionError, match="cannot be decrypted"):
        crypto.decrypt(token, keys=crypto.parse_keys(KEY_B))
    with pytest.raises(crypto.DecryptionError):
        crypto.reencrypt(token, keys=crypto.parse_keys(KEY_B))


@pytest.mark.parametrize("raw", ["", " ", ",", " , "])
def test_no_key_is_refused_with_the_variable_name(raw: str) -> None:
    """An empty setting names JOB_PORTAL_ENCRYPTION_KEY."""
    with pytest.raises(crypto.EncryptionKeyError) as caught:
        crypto.parse_keys(raw)
    assert str(caught.value) == crypto.MSG_KEY_MISSING


def test_a_malformed_key_is_named_by_position_not_value() -> None:
    """The second of two keys is bad: the message says which, hides it."""
    with pytest.raises(crypto.EncryptionKeyError) as caught:
        crypto.parse_keys(f"{KEY_A},not-a-key")
    assert str(caught.value) == crypto.MSG_KEY_MALFORMED.format(position=2, count=2)
    assert "not-a-key" not in str(caught.value)


def test_generated_keys_are_usable_and_different() -> None:
    """generate_key gives valid, fresh keys."""
    first, second = crypto.generate_key(), crypto.generate_key()
    assert first != second
    assert crypto.parse_keys(f"{first},{second}") == [
        first.encode(),
        second.encode(),
    ]
