"""The template substitution module: placeholders, parameters, values."""

from __future__ import annotations

from typing import Any

import pytest

from jobs import template_text as tt

PARAMS: list[dict[str, Any]] = [
    {"name": "url", "default": None, "description": "Where"},
    {"name": "minute", "default": 5, "description": ""},
    {"name": "out", "default": "data.json", "description": ""},
]


def test_render_replaces_placeholders_in_text_and_keeps_whole_values_typed() -> None:
    """A lone placeholder keeps its value's type; one inside text becomes text."""
    body = {
        "args": ["{{url}}", "--out={{ out }}"],
        "schedules": [{"type": "hourly", "minute": "{{ minute }}"}],
        "description": "Every hour at {{ minute }}",
    }
    values: dict[str, tt.Scalar] = {"url": "http://x", "minute": 5, "out": "a.json"}
    assert tt.render(body, values) == {
        "args": ["http://x", "--out=a.json"],
        "schedules": [{"type": "hourly", "minute": 5}],
        "description": "Every hour at 5",
    }


def test_render_never_evaluates_anything() -> None:
    """A value that looks like a placeholder or code is plain text."""
    body = {"description": "{{ out }}!"}
    assert tt.render(body, {"out": "{{ __import__('os') }}"}) == {
        "description": "{{ __import__('os') }}!"
    }


def test_placeholders_lists_each_name_once_in_order() -> None:
    """Names come in document order, without repeats."""
    body = {"a": "{{ x }} {{ y }}", "b": ["{{x}}"], "c": 3}
    assert tt.placeholders(body) == ["x", "y"]


def test_values_resolve_takes_overrides_then_defaults() -> None:
    """An override wins over the default."""
    values = tt.values_resolve(PARAMS, {"url": "http://h", "minute": 7})
    assert values == {"url": "http://h", "minute": 7, "out": "data.json"}


def test_values_resolve_names_unknown_and_missing_values() -> None:
    """An unknown name and a required parameter left out are both named."""
    with pytest.raises(tt.TemplateError) as caught:
        tt.values_resolve(PARAMS, {"nope": 1})
    assert caught.value.messages == [
        tt.MSG_UNKNOWN_VALUE.format(name="nope", declared="url, minute, out"),
        tt.MSG_MISSING_VALUE.format(name="url"),
    ]


def test_values_resolve_refuses_a_structured_value() -> None:
    """Values are scalars: a list is refused, naming the parameter."""
    with pytest.raises(tt.TemplateError, match="'out': a value is text"):
        tt.values_resolve(PARAMS, {"url": "u", "out": [1]})


def test_body_check_names_an_undeclared_placeholder() -> None:
    """Every placeholder must be a declared parameter."""
    with pytest.raises(tt.TemplateError) as caught:
        tt.body_check({"script": "{{ scrpt }}.py"}, PARAMS)
    assert caught.value.messages == [tt.MSG_UNKNOWN_PLACEHOLDER.format(name="scrpt")]
    assert caught.value.messages == [
        "Placeholder {{ scrpt }} names no declared parameter."
    ]


def test_parameters_check_normalises_and_refuses_bad_declarations() -> None:
    """Missing keys are filled; bad names, duplicates and extra keys are named."""
    assert tt.parameters_check([{"name": "a"}]) == [
        {"name": "a", "default": None, "description": ""}
    ]
    with pytest.raises(tt.TemplateError) as caught:
        tt.parameters_check([{"name": "1a"}, {"name": "b", "x": 1}, {"name": "b"}])
    assert caught.value.messages == [
        tt.MSG_PARAMETER_NAME.format(position=1, name="1a"),
        tt.MSG_PARAMETER_KEYS.format(position=2, keys="x"),
        tt.MSG_PARAMETER_DUPLICATE.format(name="b"),
    ]


@pytest.mark.parametrize(
    ("text", "default", "value"),
    [
        ("40", 0, 40),
        ("forty", 0, "forty"),
        ("yes", False, True),
        ("2.5", 1.0, 2.5),
        (" 7 ", "3", "7"),
        ("x", None, "x"),
    ],
)
def test_value_from_text_reads_form_text_as_the_default_type(
    text: str, default: tt.Scalar, value: tt.Scalar
) -> None:
    """Text reads as the default's type when it can; else it stays text."""
    assert tt.value_from_text(text, default) == value
