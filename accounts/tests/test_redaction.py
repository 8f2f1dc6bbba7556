"""Secret-looking values are hidden from audit changes (pure)."""

from typing import Any

import pytest

from accounts.redaction import (
    REDACTED,
    is_sensitive,
    path_is_sensitive,
    redact,
    redact_changes,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("value", True),
        ("secret", True),
        ("DB_PASSWORD", True),
        ("api_token", True),
        ("API_KEY", True),
        ("private_key", True),
        ("credentials", True),
        ("name", False),
        ("schedules", False),
        ("timeout_seconds", False),
        ("REGION", False),
    ],
)
def test_is_sensitive(name: str, expected: bool) -> None:
    """Names that may hold secrets are recognised by substring, any case."""
    assert is_sensitive(name) is expected


def test_path_is_sensitive_looks_at_every_part() -> None:
    """A path is sensitive when any of its parts is."""
    assert path_is_sensitive("env.API_TOKEN") is True
    assert path_is_sensitive("hooks[0].secret") is True
    assert path_is_sensitive("schedules[0].time") is False


def test_redact_hides_nested_secret_keys_only() -> None:
    """Nested mappings keep harmless keys and hide secret-looking ones."""
    value = {"REGION": "apac", "API_TOKEN": "t0k", "nested": [{"password": "pw"}]}
    assert redact(value) == {
        "REGION": "apac",
        "API_TOKEN": REDACTED,
        "nested": [{"password": REDACTED}],
    }


def test_redact_changes_hides_values_but_shows_added_and_removed() -> None:
    """None stays visible so an added or removed secret shows as such."""
    changes: dict[str, list[Any]] = {
        "env.API_TOKEN": [None, "new"],
        "password": ["old-hash", "new-hash"],
        "env": [{"KEY": "a"}, {"KEY": "b", "REGION": "eu"}],
        "name": ["a", "b"],
    }
    assert redact_changes(changes) == {
        "env.API_TOKEN": [None, REDACTED],
        "password": [REDACTED, REDACTED],
        "env": [{"KEY": REDACTED}, {"KEY": REDACTED, "REGION": "eu"}],
        "name": ["a", "b"],
    }


def test_redact_changes_with_keep_hides_every_other_field() -> None:
    """For all-secret targets only the kept fields show."""
    changes = {"name": ["A", "B"], "ciphertext": ["x", "y"]}
    assert redact_changes(changes, keep=frozenset({"name"})) == {
        "name": ["A", "B"],
        "ciphertext": [REDACTED, REDACTED],
    }


def test_fields_listing_secret_names_keep_the_names() -> None:
    """A job's "secrets" are names: the log says which one was granted."""
    changes: dict[str, list[Any]] = {
        "secrets[0]": [None, "GREETING_TOKEN"],
        "secrets": [[], ["GREETING_TOKEN"]],
        "env.API_TOKEN": ["a", "b"],
    }
    assert redact_changes(changes, names=frozenset({"secrets"})) == {
        "secrets[0]": [None, "GREETING_TOKEN"],
        "secrets": [[], ["GREETING_TOKEN"]],
        "env.API_TOKEN": [REDACTED, REDACTED],
    }


def test_a_nested_value_under_a_names_field_stays_hidden() -> None:
    """Only plain names pass; anything structured is still redacted."""
    changes = {"secrets[0]": [None, {"value": "hunter2"}]}
    redacted = redact_changes(changes, names=frozenset({"secrets"}))
    assert redacted == {"secrets[0]": [None, REDACTED]}
