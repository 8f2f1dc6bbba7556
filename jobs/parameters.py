"""Run parameters: read a value of a declared type, from text or JSON.

Pure Python. The admin's "Run now" form sends text; the API sends JSON, so a
value may already be a number or a boolean. Either way the result is the
typed value the run stores and the script receives as JOB_PARAM_<NAME>.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from jobs.errors import JobsError

STRING = "string"
INTEGER = "integer"
BOOLEAN = "boolean"
CHOICE = "choice"
TYPES = (STRING, INTEGER, BOOLEAN, CHOICE)

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})
_INTEGER = re.compile(r"^[+-]?\d+$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Integers beyond 64 bits would not survive every JSON reader.
MAX_INTEGER = 2**63 - 1

MSG_STRING = "Enter text; got {value!r}."
MSG_INTEGER = "Enter a whole number, e.g. 42; got {value!r}."
MSG_INTEGER_RANGE = "Enter a whole number between -{limit} and {limit}."
MSG_BOOLEAN = "Enter true or false (or yes/no, on/off, 1/0); got {value!r}."
MSG_CHOICE = "Choose one of: {choices}; got {value!r}."
MSG_NO_CHOICES = "A choice parameter needs at least one choice."
MSG_TYPE = "Unknown parameter type {value!r}; use one of: {types}."


class ParameterValueError(JobsError, ValueError):
    """A parameter value cannot be read as the parameter's type."""


def is_blank(value: Any) -> bool:
    """Return True for "no value given": None or text of only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def env_name(name: str) -> str:
    """Return the environment variable that carries parameter `name`."""
    return "JOB_PARAM_" + name.upper()


def coerce_value(kind: str, value: Any, *, choices: Sequence[str] = ()) -> Any:
    """Return `value` read as a `kind` parameter (see `TYPES`).

    Text is stripped for integers, booleans and choices but kept as given
    for strings. Raise `ParameterValueError` with a message for the user.
    """
    if kind == STRING:
        if not isinstance(value, str):
            raise ParameterValueError(MSG_STRING.format(value=value))
        return value
    if kind == INTEGER:
        return _integer(value)
    if kind == BOOLEAN:
        return _boolean(value)
    if kind == CHOICE:
        if not choices:
            raise ParameterValueError(MSG_NO_CHOICES)
        text = value.strip() if isinstance(value, str) else value
        if text not in choices:
            raise ParameterValueError(
                MSG_CHOICE.format(choices=", ".join(choices), value=value)
            )
        return text
    raise ParameterValueError(MSG_TYPE.format(value=kind, types=", ".join(TYPES)))


def env_value(value: Any) -> str:
    """Return a typed parameter value as environment variable text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ParameterValueError(MSG_INTEGER.format(value=value))
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.match(value.strip()):
        number = int(value.strip())
    else:
        raise ParameterValueError(MSG_INTEGER.format(value=value))
    if abs(number) > MAX_INTEGER:
        raise ParameterValueError(MSG_INTEGER_RANGE.format(limit=MAX_INTEGER))
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ParameterValueError(MSG_BOOLEAN.format(value=value))
