"""Rules for text from clients, shared by the APIs and the job import.

Pure Python: the messages for unknown keys and the check for text that
cannot be stored (PostgreSQL refuses NUL and lone surrogates in JSON, and a
process cannot take them in its arguments or environment).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MSG_UNKNOWN_FIELDS = "Unknown field(s): {unknown}. Known fields: {known}."
MSG_NO_FIELDS = "This request takes no fields; got: {unknown}."
MSG_UNSTORABLE_TEXT = "Text may not contain NUL characters or unpaired surrogates."

_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def has_unstorable_text(value: Any) -> bool:
    """Return True if text in `value` (keys and nested values too) is unstorable."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, str) and _UNSTORABLE.search(item):
            return True
    return False


def unknown_fields_message(data: Mapping[Any, Any], known: Iterable[str]) -> str | None:
    """Return the message naming the keys of `data` not in `known`, or None."""
    names = list(known)
    unknown = sorted(str(key) for key in data if key not in names)
    if not unknown:
        return None
    if not names:
        return MSG_NO_FIELDS.format(unknown=", ".join(unknown))
    return MSG_UNKNOWN_FIELDS.format(unknown=", ".join(unknown), known=", ".join(names))
