"""One clock, one settings accessor, one script resolver: keep it that way.

Scans the project's own modules (tests and migrations excepted) with `ast`
and fails when a per-module ``def clock()``, a direct ``timezone.now()``, a
``settings.JOB_PORTAL_*`` read or a settings-bound ``resolve_script`` call
reappears outside the module that owns it.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "jobportal", "jobs", "notifications")

# Who may do what: the owners of the clock, the settings and the resolver.
CLOCK_OWNERS = frozenset({"jobportal/clock.py"})
# checks.py validates the raw values (a bad one is None, and the accessors
# would hide it behind its default), so it reads settings itself. times.py (the
# display rule) reads the portal's zone itself: accounts uses it and may not
# import jobs.conf.
SETTINGS_OWNERS = frozenset(
    {"jobportal/settings.py", "jobs/conf.py", "jobs/checks.py", "jobportal/times.py"}
)
RESOLVER_OWNERS = frozenset({"jobs/script_files.py", "jobs/script_paths.py"})


def _is_settings_read(node: ast.AST) -> bool:
    """`settings.JOB_PORTAL_X`, or `getattr(settings, "JOB_PORTAL_X", ...)`."""
    if isinstance(node, ast.Attribute):
        return (
            isinstance(node.value, ast.Name)
            and node.value.id == "settings"
            and node.attr.startswith("JOB_PORTAL_")
        )
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id == "settings"
    )


def _is_timezone_now(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "now"
        and isinstance(node.value, ast.Name)
        and node.value.id in {"timezone", "datetime"}
    )


def _is_resolve_script_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "resolve_script"
    )


def offences(source: str, module: str) -> list[str]:
    """Return "module:line what" for each forbidden construct in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if module not in CLOCK_OWNERS:
            if isinstance(node, ast.FunctionDef) and node.name == "clock":
                found.append(f"{module}:{line} def clock(): use jobportal.clock.now")
            if _is_timezone_now(node):
                found.append(f"{module}:{line} reads the time: use jobportal.clock.now")
        if module not in SETTINGS_OWNERS and _is_settings_read(node):
            found.append(f"{module}:{line} reads a JOB_PORTAL_ setting: use jobs.conf")
        if module not in RESOLVER_OWNERS and _is_resolve_script_call(node):
            found.append(f"{module}:{line} resolve_script: use jobs.script_files")
    return found


def project_modules() -> Iterator[tuple[str, str]]:
    """Yield (relative path, source) of each non-test, non-migration module."""
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if {"tests", "migrations"} & set(relative.parts):
                continue
            yield relative.as_posix(), path.read_text()


def test_the_scan_sees_the_project() -> None:
    """The scan reads the owners themselves, so its paths are the right ones."""
    scanned = {module for module, _ in project_modules()}
    assert scanned >= CLOCK_OWNERS | SETTINGS_OWNERS | RESOLVER_OWNERS
    assert len(scanned) > 50


def test_one_clock_one_settings_accessor_one_resolver() -> None:
    """No module outside the owners reads the time, a setting or resolves."""
    found = [
        offence
        for module, source in project_modules()
        for offence in offences(source, module)
    ]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "def clock():\n    return NOW\n",
        "when = timezone.now()\n",
        "when = datetime.now(UTC)\n",
        "root = settings.JOB_PORTAL_SCRIPTS_DIR\n",
        "root = getattr(settings, 'JOB_PORTAL_SCRIPTS_DIR')\n",
        "path = resolve_script(root, 'a.py', allowed_extensions=['.py'])\n",
    ],
)
def test_each_kind_of_copy_is_caught(source: str) -> None:
    """The scan flags every construct it is there to keep out."""
    assert len(offences(source, "jobs/api/views/example.py")) == 1


def test_the_owners_may_do_their_part() -> None:
    """The clock reads the time; conf reads settings; script_files resolves."""
    assert offences("x = datetime.now(UTC)\n", "jobportal/clock.py") == []
    assert offences("x = settings.JOB_PORTAL_TIMEZONE\n", "jobs/conf.py") == []
    assert offences("p = resolve_script(r, 'a')\n", "jobs/script_files.py") == []
