"""Named priority levels (high, normal, low) on top of the integer priority."""

from __future__ import annotations

import pytest

from jobs import priorities


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("high", 10),
        ("normal", 0),
        ("low", -10),
        (" High ", 10),
        ("LOW", -10),
        ("urgent", "urgent"),
        ("5", "5"),
        (7, 7),
        (None, None),
    ],
)
def test_level_names_read_as_their_integers_and_the_rest_passes(
    value: object, expected: object
) -> None:
    """Names in any case, trimmed; anything else is left for the integer field."""
    assert priorities.priority_from_name(value) == expected


@pytest.mark.parametrize(
    ("value", "name", "text"),
    [
        (10, "high", "high"),
        (0, "normal", "normal"),
        (-10, "low", "low"),
        (5, None, "5"),
    ],
)
def test_levels_show_as_names_and_other_integers_as_numbers(
    value: int, name: str | None, text: str
) -> None:
    """Only the three level values have names."""
    assert priorities.priority_name(value) == name
    assert priorities.priority_text(value) == text
