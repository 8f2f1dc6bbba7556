"""Reading run parameter values of each type from text and JSON."""

from typing import Any

import pytest

from jobs import parameters as params


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (params.STRING, " as is ", " as is "),
        (params.INTEGER, "42", 42),
        (params.INTEGER, " -7 ", -7),
        (params.INTEGER, 12, 12),
        (params.INTEGER, 3.0, 3),
        (params.BOOLEAN, "true", True),
        (params.BOOLEAN, "No", False),
        (params.BOOLEAN, "on", True),
        (params.BOOLEAN, "0", False),
        (params.BOOLEAN, False, False),
        (params.BOOLEAN, 1, True),
        (params.CHOICE, " emea ", "emea"),
    ],
)
def test_values_are_read_as_their_type(kind: str, value: Any, expected: Any) -> None:
    """Text from a form and JSON values from the API give typed values."""
    result = params.coerce_value(kind, value, choices=["apac", "emea"])
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (params.STRING, 5, params.MSG_STRING.format(value=5)),
        (params.INTEGER, "4.5", params.MSG_INTEGER.format(value="4.5")),
        (params.INTEGER, "ten", params.MSG_INTEGER.format(value="ten")),
        (params.INTEGER, True, params.MSG_INTEGER.format(value=True)),
        (
            params.INTEGER,
            str(2**64),
            params.MSG_INTEGER_RANGE.format(limit=params.MAX_INTEGER),
        ),
        (params.BOOLEAN, "maybe", params.MSG_BOOLEAN.format(value="maybe")),
        (params.BOOLEAN, 2, params.MSG_BOOLEAN.format(value=2)),
        (
            params.CHOICE,
            "mars",
            params.MSG_CHOICE.format(choices="apac, emea", value="mars"),
        ),
        (
            "date",
            "x",
            params.MSG_TYPE.format(value="date", types=", ".join(params.TYPES)),
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_with_a_clear_message(
    kind: str, value: Any, message: str
) -> None:
    """Each type says what it expected and what it got."""
    with pytest.raises(params.ParameterValueError) as caught:
        params.coerce_value(kind, value, choices=["apac", "emea"])
    assert str(caught.value) == message


def test_a_choice_parameter_without_choices_is_refused() -> None:
    """No choices: nothing can be chosen."""
    with pytest.raises(params.ParameterValueError, match="at least one choice"):
        params.coerce_value(params.CHOICE, "a", choices=[])


def test_environment_names_and_values() -> None:
    """JOB_PARAM_<NAME> in upper case; booleans as true/false."""
    assert params.env_name("batch_size") == "JOB_PARAM_BATCH_SIZE"
    assert [params.env_value(v) for v in (True, False, 3, "x")] == [
        "true",
        "false",
        "3",
        "x",
    ]
