"""Named priority levels on top of a job's integer priority.

Pure Python, no Django imports. A job's priority stays an integer (higher
runs first when work queues); three names stand for common values, so that
people need not agree on numbers: ``high`` is 10, ``normal`` 0 (the
default) and ``low`` -10. The admin shows and takes the names, the API and
job documents take a name wherever they take the integer, and any other
integer keeps working as before.
"""

from __future__ import annotations

HIGH = 10
NORMAL = 0
LOW = -10
# Name -> integer, highest first (the order the admin offers them in).
LEVELS: dict[str, int] = {"high": HIGH, "normal": NORMAL, "low": LOW}
MSG_PRIORITY = "A valid integer or one of high, normal, low is required."


def priority_from_name(value: object) -> object:
    """Return the integer a level name stands for, else `value` unchanged.

    Names are read trimmed and in any case ("High", " low "); anything else
    is left for the integer field to read or refuse.
    """
    if isinstance(value, str):
        level = LEVELS.get(value.strip().lower())
        if level is not None:
            return level
    return value


def priority_name(value: int) -> str | None:
    """Return the level name of `value`, or None for other integers."""
    for name, level in LEVELS.items():
        if level == value:
            return name
    return None


def priority_text(value: int) -> str:
    """Return `value` as people read it: its level name, else the number."""
    return priority_name(value) or str(value)
