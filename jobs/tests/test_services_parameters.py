"""Declared run parameters: definitions and the values a run is asked for."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from jobs import parameters as params
from jobs.models import (
    MSG_CHOICES_ONLY_FOR_CHOICE,
    MSG_PARAMETER_DUPLICATE,
    Job,
    JobParameter,
)
from jobs.services.jobs import job_save
from jobs.services.parameters import (
    MSG_NOT_AN_OBJECT,
    MSG_REQUIRED,
    MSG_UNKNOWN,
    MSG_UNKNOWN_NONE,
    parameters_effective,
    parameters_validate,
)
from jobs.tests.factories import JobFactory
from jobs.validators import MSG_CHOICES, MSG_PARAMETER_NAME

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(scripts_dir: Path, now: datetime) -> Job:
    """A manual job with region (choice, default apac), batch (int, required)."""
    saved = JobFactory.create(name="export", schedules=[{"type": "manual"}], now=now)
    JobParameter.objects.create(
        job=saved,
        name="region",
        type="choice",
        choices=["apac", "emea"],
        default="apac",
    )
    JobParameter.objects.create(
        job=saved, name="batch", type="integer", is_required=True
    )
    JobParameter.objects.create(job=saved, name="dry_run", type="boolean")
    return saved


def test_text_values_are_typed_and_defaults_filled_in(job: Job) -> None:
    """Form text in, typed values out; region falls back to its default."""
    assert parameters_validate(job=job, values={"batch": " 25 ", "dry_run": "off"}) == {
        "region": "apac",
        "batch": 25,
        "dry_run": False,
    }


def test_json_values_are_accepted_as_they_are(job: Job) -> None:
    """The API may send numbers and booleans."""
    assert parameters_validate(
        job=job, values={"batch": 7, "dry_run": True, "region": "emea"}
    ) == {"region": "emea", "batch": 7, "dry_run": True}


def test_an_empty_value_counts_as_not_given(job: Job) -> None:
    """A blank form field: the default, or "required"."""
    with pytest.raises(ValidationError) as caught:
        parameters_validate(job=job, values={"batch": "", "region": ""})
    assert caught.value.message_dict == {"batch": [MSG_REQUIRED]}


def test_every_problem_is_reported_at_once_by_parameter(job: Job) -> None:
    """Wrong type, not a choice and unknown name, each under its name."""
    with pytest.raises(ValidationError) as caught:
        parameters_validate(
            job=job,
            values={
                "batch": "many",
                "region": "mars",
                "dry_run": "perhaps",
                "colour": "x",
            },
        )
    assert caught.value.message_dict == {
        "batch": [params.MSG_INTEGER.format(value="many")],
        "region": [params.MSG_CHOICE.format(choices="apac, emea", value="mars")],
        "dry_run": [params.MSG_BOOLEAN.format(value="perhaps")],
        "colour": [MSG_UNKNOWN.format(name="colour", known="region, batch, dry_run")],
    }


def test_a_job_without_parameters_refuses_any(scripts_dir: Path, now: datetime) -> None:
    """The message says it takes none."""
    bare = job_save(
        job=Job(name="bare", script="ok.py"), schedules=[{"type": "manual"}], now=now
    )
    with pytest.raises(ValidationError) as caught:
        parameters_validate(job=bare, values={"x": "1"})
    assert caught.value.message_dict == {"x": [MSG_UNKNOWN_NONE.format(name="x")]}
    assert parameters_validate(job=bare, values=None) == {}


def test_parameters_must_be_an_object(job: Job) -> None:
    """A list is not a set of name: value pairs."""
    with pytest.raises(ValidationError) as caught:
        parameters_validate(job=job, values=["batch"])  # type: ignore[arg-type]
    assert caught.value.message_dict == {"parameters": [MSG_NOT_AN_OBJECT]}


def test_the_worker_passes_undeclared_names_through(job: Job) -> None:
    """Accepted when queued: the run keeps them; declared ones are checked."""
    assert parameters_effective(job=job, values={"batch": 3, "legacy": "x"}) == {
        "legacy": "x",
        "region": "apac",
        "batch": 3,
    }


# --- the definitions ------------------------------------------------------------


def test_a_default_of_the_wrong_type_is_refused(job: Job) -> None:
    """The default is checked against the type when the job is saved."""
    parameter = JobParameter(job=job, name="limit", type="integer", default="lots")
    with pytest.raises(ValidationError) as caught:
        parameter.full_clean()
    assert caught.value.message_dict == {
        "default": [params.MSG_INTEGER.format(value="lots")]
    }


def test_a_choice_parameter_needs_choices_and_others_have_none(job: Job) -> None:
    """Choices belong to the choice type only."""
    with pytest.raises(ValidationError) as caught:
        JobParameter(job=job, name="zone", type="choice").full_clean()
    assert caught.value.message_dict == {"choices": [params.MSG_NO_CHOICES]}
    with pytest.raises(ValidationError) as caught:
        JobParameter(job=job, name="zone", type="string", choices=["a"]).full_clean()
    assert caught.value.message_dict == {"choices": [MSG_CHOICES_ONLY_FOR_CHOICE]}


@pytest.mark.parametrize("choices", [["a", "a"], ["a", ""], "a,b", [1, 2]])
def test_choices_must_be_distinct_non_empty_strings(job: Job, choices: object) -> None:
    """Duplicates, blanks and non-lists are refused."""
    with pytest.raises(ValidationError) as caught:
        JobParameter(job=job, name="zone", type="choice", choices=choices).full_clean()
    assert caught.value.message_dict["choices"] == [MSG_CHOICES]


@pytest.mark.parametrize("name", ["2fast", "with-dash", "has space"])
def test_a_name_that_cannot_be_a_variable_is_refused(job: Job, name: str) -> None:
    """The name becomes JOB_PARAM_<NAME>."""
    with pytest.raises(ValidationError) as caught:
        JobParameter(job=job, name=name, type="string").full_clean()
    assert caught.value.message_dict["name"] == [MSG_PARAMETER_NAME.format(name=name)]


def test_names_differing_only_in_case_collide(job: Job) -> None:
    """REGION and region would both be JOB_PARAM_REGION."""
    with pytest.raises(ValidationError) as caught:
        JobParameter(job=job, name="REGION", type="string").full_clean()
    assert caught.value.messages == [MSG_PARAMETER_DUPLICATE]
