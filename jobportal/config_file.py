"""Read the optional YAML configuration file named by JOB_PORTAL_CONFIG_FILE.

Pure: no Django. The file is a mapping of the same ``JOB_PORTAL_*`` keys as
the environment; each value becomes the text the environment would hold, so
the settings read both the same way and validate them alike (the environment
wins over the file). A value of a type the environment cannot hold (a
mapping, a nested list, a date) is refused here, naming the key and file;
keys the settings never read are found by ``unknown_keys`` for check
``jobs.E210``.
"""

from collections.abc import Collection, Mapping
from pathlib import Path

import yaml

VARIABLE = "JOB_PORTAL_CONFIG_FILE"
PREFIX = "JOB_PORTAL_"
# Read from the environment only: the file's own name, and the address
# ./portal (a shell script) hands to gunicorn, and the .env file to read.
ENVIRONMENT_ONLY = frozenset({VARIABLE, "JOB_PORTAL_BIND", "JOB_PORTAL_ENV_FILE"})

MSG_UNREADABLE = "JOB_PORTAL_CONFIG_FILE={path!r} cannot be read: {error}."
MSG_NOT_YAML = "JOB_PORTAL_CONFIG_FILE={path!r} is not valid YAML: {error}"
MSG_NOT_MAPPING = (
    "{path}: the configuration file must be a mapping of JOB_PORTAL_* keys "
    "to values; got {kind}."
)
MSG_KEY = "{path}: key {key!r} is not a JOB_PORTAL_* setting name."
MSG_TYPE = (
    "{path}: {key} must be a string, number, boolean or a list of those; got {kind}."
)
MSG_UNKNOWN = (
    "{path}: unknown key {key}; the portal reads no such setting from the "
    "file (see .env.example)."
)
MSG_ENVIRONMENT_ONLY = (
    "{path}: {key} is read from the environment only, not from the configuration file."
)

SCALARS = (str, int, float)


class ConfigFileError(ValueError):
    """The configuration file cannot be used; the message names file and key."""


def load(path: Path) -> dict[str, str]:
    """Return the file's settings as environment text, or raise ConfigFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(
            MSG_UNREADABLE.format(path=str(path), error=_reason(exc))
        ) from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise ConfigFileError(
            MSG_NOT_YAML.format(path=str(path), error=detail)
        ) from exc
    return values(document, path=str(path))


def values(document: object, *, path: str) -> dict[str, str]:
    """Turn a parsed YAML document into environment text per key."""
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ConfigFileError(MSG_NOT_MAPPING.format(path=path, kind=_kind(document)))
    result: dict[str, str] = {}
    for key, value in document.items():
        if not isinstance(key, str) or not key.startswith(PREFIX):
            raise ConfigFileError(MSG_KEY.format(path=path, key=key))
        result[key] = value_text(value, key=key, path=path)
    return result


def value_text(value: object, *, key: str, path: str) -> str:
    """Return what the environment would hold for ``value``: lists comma-joined."""
    if isinstance(value, list):
        return ",".join(_scalar_text(item, key=key, path=path) for item in value)
    if value is None:
        # `KEY:` with nothing after it is `KEY=` in a .env file.
        return ""
    return _scalar_text(value, key=key, path=path)


def unknown_keys(
    keys: Collection[str], *, known: Collection[str], path: str
) -> list[str]:
    """Return one message per key of the file that the settings never read."""
    messages = []
    for key in sorted(keys):
        if key in ENVIRONMENT_ONLY:
            messages.append(MSG_ENVIRONMENT_ONLY.format(path=path, key=key))
        elif key not in known:
            messages.append(MSG_UNKNOWN.format(path=path, key=key))
    return messages


def _scalar_text(value: object, *, key: str, path: str) -> str:
    """Return a scalar as text; booleans as true/false, as the settings read."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, SCALARS):
        return str(value)
    raise ConfigFileError(MSG_TYPE.format(path=path, key=key, kind=_kind(value)))


def _kind(value: object) -> str:
    """Name a YAML value's type in the operator's words."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list of lists or mappings"
    return f"a value of type {type(value).__name__}"


def _reason(exc: Exception) -> str:
    """Return an error's reason without Python's repr noise."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
