"""The YAML configuration file: values as environment text, refusals named."""

from pathlib import Path

import pytest

from jobportal import config_file
from jobportal.config_file import ConfigFileError


def write(tmp_path: Path, text: str) -> Path:
    """Write a configuration file and return its path."""
    path = tmp_path / "portal.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_values_become_the_text_the_environment_would_hold(tmp_path: Path) -> None:
    """Numbers, booleans, lists and empty values read as their .env spelling."""
    path = write(
        tmp_path,
        "JOB_PORTAL_TIMEZONE: Europe/Paris\n"
        "JOB_PORTAL_WORKER_MAX_CONCURRENT: 8\n"
        "JOB_PORTAL_WORKER_POLL_INTERVAL: 2.5\n"
        "JOB_PORTAL_DEBUG: no\n"
        "JOB_PORTAL_SMTP_TLS: true\n"
        "JOB_PORTAL_ALLOWED_HOSTS: [jobs.example.com, 10.0.0.1]\n"
        "JOB_PORTAL_MAX_CONCURRENT_TOTAL:\n",
    )
    assert config_file.load(path) == {
        "JOB_PORTAL_TIMEZONE": "Europe/Paris",
        "JOB_PORTAL_WORKER_MAX_CONCURRENT": "8",
        "JOB_PORTAL_WORKER_POLL_INTERVAL": "2.5",
        "JOB_PORTAL_DEBUG": "false",
        "JOB_PORTAL_SMTP_TLS": "true",
        "JOB_PORTAL_ALLOWED_HOSTS": "jobs.example.com,10.0.0.1",
        "JOB_PORTAL_MAX_CONCURRENT_TOTAL": "",
    }


def test_an_empty_file_sets_nothing(tmp_path: Path) -> None:
    """A file with only comments is no configuration, not an error."""
    assert config_file.load(write(tmp_path, "# nothing yet\n")) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "JOB_PORTAL_SMTP_PORT: {port: 25}\n",
            "JOB_PORTAL_SMTP_PORT must be a string, number, boolean or a list of "
            "those; got a mapping.",
        ),
        (
            "JOB_PORTAL_ALLOWED_HOSTS: [[a, b]]\n",
            "JOB_PORTAL_ALLOWED_HOSTS must be a string, number, boolean or a list "
            "of those; got a list of lists or mappings.",
        ),
        (
            "JOB_PORTAL_TIMEZONE: 2026-12-03\n",
            "JOB_PORTAL_TIMEZONE must be a string, number, boolean or a list of "
            "those; got a value of type date.",
        ),
        ("DEBUG: true\n", "key 'DEBUG' is not a JOB_PORTAL_* setting name."),
        ("- JOB_PORTAL_DEBUG\n", "must be a mapping of JOB_PORTAL_* keys"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_key_and_file(
    tmp_path: Path, text: str, message: str
) -> None:
    """The message starts with the file's path and names the key."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as caught:
        config_file.load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_bad_yaml_is_refused_naming_the_file(tmp_path: Path) -> None:
    """A syntax error names the file and the line, on one line."""
    path = write(tmp_path, "JOB_PORTAL_DEBUG: [true\n")
    with pytest.raises(ConfigFileError, match="is not valid YAML") as caught:
        config_file.load(path)
    assert f"JOB_PORTAL_CONFIG_FILE={str(path)!r}" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    """A path that does not exist says so."""
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigFileError) as caught:
        config_file.load(path)
    assert str(caught.value) == config_file.MSG_UNREADABLE.format(
        path=str(path), error="No such file or directory"
    )


def test_unknown_keys_are_named_with_the_file() -> None:
    """Keys the settings never read are reported, one message each."""
    messages = config_file.unknown_keys(
        ["JOB_PORTAL_TIMEZONE", "JOB_PORTAL_TIMEZON", "JOB_PORTAL_BIND"],
        known={"JOB_PORTAL_TIMEZONE"},
        path="/etc/portal.yaml",
    )
    assert messages == [
        config_file.MSG_ENVIRONMENT_ONLY.format(
            path="/etc/portal.yaml", key="JOB_PORTAL_BIND"
        ),
        config_file.MSG_UNKNOWN.format(
            path="/etc/portal.yaml", key="JOB_PORTAL_TIMEZON"
        ),
    ]
