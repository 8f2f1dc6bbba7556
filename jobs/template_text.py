"""Job templates: fill a job document's `{{ name }}` placeholders with values.

Pure Python, plain substitution: a placeholder is `{{ name }}` (spaces
inside the braces optional) and is replaced by the parameter's value;
nothing is evaluated, so a template can never run code. A string that is
exactly one placeholder takes the value as it is (so `"timeout_seconds":
"{{ timeout }}"` becomes a number when the value is one); a placeholder
inside longer text is replaced by the value's text. Placeholders may sit in
any string of the document, keys of mappings excepted.

A template declares its parameters as a list of mappings: `name`,
`default` (None: a value is required), `description`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from jobs.errors import JobsError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PARAMETER_KEYS = ("name", "default", "description")

MSG_UNKNOWN_PLACEHOLDER = "Placeholder {{{{ {name} }}}} names no declared parameter."
MSG_UNKNOWN_VALUE = "No parameter is named {name!r}; declared: {declared}."
MSG_MISSING_VALUE = "Parameter {name!r} has no default: give it a value."
MSG_PARAMETERS_LIST = "Parameters must be a list of mappings."
MSG_PARAMETER_MAPPING = "Parameter #{position} must be a mapping."
MSG_PARAMETER_KEYS = "Parameter #{position}: unknown key(s): {keys}."
MSG_PARAMETER_NAME = (
    "Parameter #{position}: name {name!r} must be letters, digits and _, "
    "not starting with a digit."
)
MSG_PARAMETER_DUPLICATE = "Parameter {name!r} is declared more than once."
MSG_PARAMETER_VALUE = (
    "Parameter {name!r}: a value is text, a number, a boolean or null; got {kind}."
)
MSG_BODY_MAPPING = "The job document body must be a mapping."


class TemplateError(JobsError, ValueError):
    """A template or its values are unusable; `messages` says why."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


Scalar = str | int | float | bool | None


def placeholders(body: Any) -> list[str]:
    """Return the names of the placeholders in `body`, in order, once each."""
    found: dict[str, None] = {}
    for text in _strings(body):
        for match in PLACEHOLDER.finditer(text):
            found.setdefault(match.group(1), None)
    return list(found)


def parameters_check(parameters: Any) -> list[dict[str, Any]]:
    """Return declared parameters normalised (every key present), or raise."""
    if not isinstance(parameters, list):
        raise TemplateError([MSG_PARAMETERS_LIST])
    errors: list[str] = []
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, item in enumerate(parameters, 1):
        if not isinstance(item, Mapping):
            errors.append(MSG_PARAMETER_MAPPING.format(position=position))
            continue
        unknown = sorted(str(key) for key in item if key not in PARAMETER_KEYS)
        if unknown:
            keys = ", ".join(unknown)
            errors.append(MSG_PARAMETER_KEYS.format(position=position, keys=keys))
        name = item.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            errors.append(MSG_PARAMETER_NAME.format(position=position, name=name))
            continue
        if name in seen:
            errors.append(MSG_PARAMETER_DUPLICATE.format(name=name))
        seen.add(name)
        default = item.get("default")
        if not _is_scalar(default):
            kind = type(default).__name__
            errors.append(MSG_PARAMETER_VALUE.format(name=name, kind=kind))
        result.append(
            {
                "name": name,
                "default": default,
                "description": str(item.get("description") or ""),
            }
        )
    if errors:
        raise TemplateError(errors)
    return result


def body_check(body: Any, parameters: Sequence[Mapping[str, Any]]) -> None:
    """Raise unless `body` is a mapping whose placeholders are all declared."""
    if not isinstance(body, Mapping):
        raise TemplateError([MSG_BODY_MAPPING])
    declared = {str(p["name"]) for p in parameters}
    unknown = [name for name in placeholders(body) if name not in declared]
    if unknown:
        raise TemplateError([MSG_UNKNOWN_PLACEHOLDER.format(name=n) for n in unknown])


def values_resolve(
    parameters: Sequence[Mapping[str, Any]], overrides: Mapping[str, Any]
) -> dict[str, Scalar]:
    """Return each declared parameter's value: the override, else the default.

    Raise naming every override that matches no parameter, every value that
    is not a scalar, and every parameter without a default left without a
    value.
    """
    declared = [str(p["name"]) for p in parameters]
    errors = [
        MSG_UNKNOWN_VALUE.format(name=name, declared=", ".join(declared) or "none")
        for name in overrides
        if name not in declared
    ]
    values: dict[str, Scalar] = {}
    for parameter in parameters:
        name = str(parameter["name"])
        value = overrides.get(name, parameter.get("default"))
        if not _is_scalar(value):
            kind = type(value).__name__
            errors.append(MSG_PARAMETER_VALUE.format(name=name, kind=kind))
        elif value is None or (value == "" and parameter.get("default") is None):
            errors.append(MSG_MISSING_VALUE.format(name=name))
        else:
            values[name] = value
    if errors:
        raise TemplateError(errors)
    return values


def render(body: Any, values: Mapping[str, Scalar]) -> Any:
    """Return a copy of `body` with every placeholder replaced by its value.

    Raise for a placeholder `values` has no value for.
    """
    missing = [name for name in placeholders(body) if name not in values]
    if missing:
        raise TemplateError([MSG_UNKNOWN_PLACEHOLDER.format(name=n) for n in missing])
    return _render(body, values)


def _render(value: Any, values: Mapping[str, Scalar]) -> Any:
    if isinstance(value, Mapping):
        return {key: _render(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, values) for item in value]
    if not isinstance(value, str):
        return value
    whole = PLACEHOLDER.fullmatch(value.strip())
    if whole is not None:
        return values[whole.group(1)]
    return PLACEHOLDER.sub(lambda match: value_text(values[match.group(1)]), value)


def value_text(value: Scalar) -> str:
    """Return a value as it reads inside text (true/false, empty for None)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _strings(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def value_from_text(text: str, default: Scalar) -> Scalar:
    """Return form text as a value of the default's type, when it reads as one.

    A form sends text: "40" for a parameter whose default is the number 0
    becomes 40, "true" for a boolean default True; anything else stays text.
    """
    text = text.strip()
    if isinstance(default, bool):
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        return text
    if isinstance(default, int) and re.fullmatch(r"[+-]?\d{1,18}", text):
        return int(text)
    if isinstance(default, float):
        try:
            return float(text)
        except ValueError:
            return text
    return text
