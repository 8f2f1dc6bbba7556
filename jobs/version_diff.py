"""Field-level differences between two job snapshots, in readable lines.

Pure Python. Nested documents are compared key by key and lists item by
item, so a change reads as its path: ``schedules[0].time: '09:00' →
'10:00'``, ``retry.max_attempts: 1 → 3``, ``env.REGION: added 'apac'``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class _Missing:
    """The side of a change where the key or item does not exist."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()

MSG_ADDED = "{path}: added {new}"
MSG_REMOVED = "{path}: removed (was {old})"
MSG_CHANGED = "{path}: {old} → {new}"
MSG_NO_CHANGES = "No changes."


@dataclass(frozen=True)
class Change:
    """One difference: where, the old value and the new one (or MISSING)."""

    path: str
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        """Return "added", "removed" or "changed"."""
        if self.old is MISSING:
            return "added"
        if self.new is MISSING:
            return "removed"
        return "changed"

    def __str__(self) -> str:
        """Return the change as one line."""
        if self.kind == "added":
            return MSG_ADDED.format(path=self.path, new=show(self.new))
        if self.kind == "removed":
            return MSG_REMOVED.format(path=self.path, old=show(self.old))
        return MSG_CHANGED.format(
            path=self.path, old=show(self.old), new=show(self.new)
        )


def show(value: Any) -> str:
    """Return a value as it reads in a diff line (Python literal style)."""
    return repr(value)


def version_diff(
    *,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    key_order: Sequence[str] = (),
) -> list[Change]:
    """Return the changes that turn snapshot `old` into snapshot `new`.

    Keys of every mapping come in `key_order` first, then A to Z: stored
    JSON may not keep key order (PostgreSQL's jsonb does not), so the order
    is imposed here. List items compare by position, so an inserted
    schedule shows as changes to the ones after it.
    """
    rank = {key: index for index, key in enumerate(key_order)}
    return list(_diff(old, new, "", rank))


def diff_lines(
    *, old: Mapping[str, Any], new: Mapping[str, Any], key_order: Sequence[str] = ()
) -> list[str]:
    """Return `version_diff` as text lines, or one line saying nothing changed."""
    changes = version_diff(old=old, new=new, key_order=key_order)
    return [str(change) for change in changes] or [MSG_NO_CHANGES]


def diff_as_changes(
    *, old: Mapping[str, Any], new: Mapping[str, Any], key_order: Sequence[str] = ()
) -> dict[str, list[Any]]:
    """Return `version_diff` as `{path: [old, new]}` with None for MISSING."""
    return {
        change.path: [
            None if change.old is MISSING else change.old,
            None if change.new is MISSING else change.new,
        ]
        for change in version_diff(old=old, new=new, key_order=key_order)
    }


def ordered(value: Any, *, key_order: Sequence[str] = ()) -> Any:
    """Return `value` with the keys of every mapping in diff order."""
    rank = {key: index for index, key in enumerate(key_order)}
    return _ordered(value, rank)


def _ordered(value: Any, rank: Mapping[str, int]) -> Any:
    if isinstance(value, Mapping):
        return {key: _ordered(value[key], rank) for key in _keys(value, {}, rank)}
    if isinstance(value, list):
        return [_ordered(item, rank) for item in value]
    return value


def _keys(
    old: Mapping[str, Any], new: Mapping[str, Any], rank: Mapping[str, int]
) -> list[str]:
    """Return both mappings' keys: ranked ones first, then A to Z."""
    return sorted({*old, *new}, key=lambda key: (rank.get(key, len(rank)), str(key)))


def _diff(old: Any, new: Any, path: str, rank: Mapping[str, int]) -> list[Change]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        changes: list[Change] = []
        for key in _keys(old, new, rank):
            child = f"{path}.{key}" if path else str(key)
            changes.extend(
                _diff(old.get(key, MISSING), new.get(key, MISSING), child, rank)
            )
        return changes
    if isinstance(old, list) and isinstance(new, list):
        changes = []
        for index in range(max(len(old), len(new))):
            changes.extend(
                _diff(
                    old[index] if index < len(old) else MISSING,
                    new[index] if index < len(new) else MISSING,
                    f"{path}[{index}]",
                    rank,
                )
            )
        return changes
    if old is MISSING and new is MISSING:
        return []
    if old is not MISSING and new is not MISSING and _same(old, new):
        return []
    return [Change(path, old, new)]


def _same(old: Any, new: Any) -> bool:
    """Compare like JSON: True is not 1, and 1 equals 1.0."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and bool(old == new)
    return bool(old == new)
