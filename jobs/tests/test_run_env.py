"""The refusal list of environment variables that make other code run."""

from __future__ import annotations

import pytest

from jobs import run_env

# One name per prefix, as a job would write it.
PREFIXED = (
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "DYLD_INSERT_LIBRARIES",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONHOME",
    "PYTHONBREAKPOINT",
    "BASH_ENV",
    "BASH_FUNC_echo%%",
    "BASH_LOADABLES_PATH",
    "PERL5LIB",
    "PERL5OPT",
    "RUBYOPT",
    "NODE_OPTIONS",
    "NODE_PATH",
    "LUA_INIT",
)
# Every refused name a job might try, for the save and run-time tests.
REFUSED = (*sorted(run_env.REFUSED_NAMES), *PREFIXED)
ALLOWED = ("REGION", "HOME", "LANG", "TZ", "API_TOKEN", "MY_LD_FLAG")


@pytest.mark.parametrize("name", REFUSED)
def test_each_listed_name_is_refused_with_a_message_naming_it(name: str) -> None:
    """Exact names and every name under a prefix."""
    assert run_env.is_refused(name) is True
    assert run_env.refused_message(name) == run_env.MSG_REFUSED.format(name=name)


@pytest.mark.parametrize("name", ["ld_preload", "PythonPath", "bash_env", "Path"])
def test_names_are_compared_ignoring_case(name: str) -> None:
    """A lower-case spelling is refused as well."""
    assert run_env.is_refused(name) is True


@pytest.mark.parametrize("name", ALLOWED)
def test_ordinary_names_are_allowed(name: str) -> None:
    """Names that load no code pass."""
    assert run_env.is_refused(name) is False
    assert run_env.refused_message(name) is None


def test_the_bare_prefix_python_is_refused_as_a_prefix_match() -> None:
    """PYTHON alone starts with the PYTHON prefix: refused, conservatively."""
    assert run_env.is_refused("PYTHON") is True


def test_without_refused_drops_refused_names_and_reports_them() -> None:
    """The rest stays in order; the dropped names are returned."""
    env = {"REGION": "apac", "PYTHONPATH": "/s", "PATH": "/bin", "LD_PRELOAD": "x"}
    assert run_env.without_refused(env) == (
        {"REGION": "apac"},
        ["PYTHONPATH", "PATH", "LD_PRELOAD"],
    )


def test_without_refused_keeps_the_names_asked_for() -> None:
    """The worker's own PATH stays; nothing else refused does."""
    env = {"PATH": "/usr/bin", "BASH_ENV": "/srv/x"}
    assert run_env.without_refused(env, keep=run_env.WORKER_KEPT) == (
        {"PATH": "/usr/bin"},
        ["BASH_ENV"],
    )


def test_refused_names_lists_them_in_order() -> None:
    """Only the refused ones."""
    assert run_env.refused_names(["A", "IFS", "B", "NODE_OPTIONS"]) == [
        "IFS",
        "NODE_OPTIONS",
    ]
