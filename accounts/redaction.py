"""Hide secret-looking values in audit changes.

Pure Python. A value is hidden when its field name, or any part of its path
("env.API_TOKEN", "credentials[0].password"), looks like it holds a secret;
`None` stays visible, so that an added or removed secret still shows as
such.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

REDACTED = "***"
# Substrings of names whose values are never written to the audit log.
SENSITIVE_NAME = re.compile(
    r"value|secret|password|passwd|passphrase|token|key|credential|private",
    re.IGNORECASE,
)
_PATH_PARTS = re.compile(r"[.\[\]]+")


def is_sensitive(name: str) -> bool:
    """Return True if a field or key called `name` may hold a secret."""
    return bool(SENSITIVE_NAME.search(name))


def path_is_sensitive(path: str) -> bool:
    """Return True if any part of a dotted/indexed path looks secret."""
    return any(is_sensitive(part) for part in _PATH_PARTS.split(path) if part)


def redact(value: Any, *, name: str = "") -> Any:
    """Return `value` with every secret-looking entry replaced by REDACTED."""
    if value is None:
        return None
    if name and is_sensitive(name):
        return REDACTED
    if isinstance(value, Mapping):
        return {key: redact(item, name=str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def redact_changes(
    changes: Mapping[str, Sequence[Any]],
    *,
    keep: frozenset[str] | None = None,
    names: frozenset[str] = frozenset(),
) -> dict[str, list[Any]]:
    """Return `{field: [old, new]}` with secret-looking values hidden.

    With `keep`, every field not in it is hidden entirely (used for targets
    whose values are all secret, where only names may show). A path under a
    field in `names` ("secrets", "secrets[0]") holds the *names* of secrets,
    which the log keeps so that one can tell which secret was granted.
    """
    redacted: dict[str, list[Any]] = {}
    for path, (old, new) in changes.items():
        if _PATH_PARTS.split(path)[0] in names and _is_names(old) and _is_names(new):
            redacted[path] = [old, new]
        elif path_is_sensitive(path) or (keep is not None and path not in keep):
            redacted[path] = [_mask(old), _mask(new)]
        else:
            redacted[path] = [redact(old), redact(new)]
    return redacted


def _is_names(value: Any) -> bool:
    """Return True for None, a name, or a list of names (nothing nested)."""
    if isinstance(value, list | tuple):
        return all(isinstance(item, str) for item in value)
    return value is None or isinstance(value, str)


def _mask(value: Any) -> Any:
    return None if value is None else REDACTED
