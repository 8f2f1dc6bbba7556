"""Exactly one function writes a terminal run state: `outcomes.runs_end`.

A static check over the jobs package's source (tests and migrations aside):
any statement that could write a terminal status to a run outside
`jobs/services/outcomes.py` fails it, so a second writer (which would end
runs without their events) cannot slip in.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import jobs

TERMINAL = {
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
    "lost",
    "skipped",
    "blocked",
}
NON_TERMINAL = {"queued", "running"}
WRITES = {
    "update",
    "create",
    "get_or_create",
    "update_or_create",
    "bulk_create",
    "bulk_update",
    "save",
}
WRITER = "jobs/services/outcomes.py"
# Raw SQL that sets a run's status: the claim's UPDATE to running only.
RAW_STATUS_SQL = re.compile(r"\bSET\s+status\b", re.IGNORECASE)
RAW_SQL_ALLOWED = {"jobs/services/claims.py"}
# Bulk inserts of new runs: the batch run endpoint's queued runs only (checked
# by test_bulk_inserts_outside_the_writer_are_queued_runs).
BULK_INSERT_ALLOWED = {"jobs/services/batch_runs.py"}
BULK = "inserts or updates runs in bulk"
# The hot path's plain statements (jobs.services.plain_sql).
PLAIN_SQL_WRITES = {"update_where", "update_each", "insert_returning_ids"}
PLAIN_INSERT = "inserts runs (plain SQL)"


def _root(node: ast.expr) -> str:
    """Return the name a call/attribute chain starts from (`JobRun` …)."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def _status_value(node: ast.expr) -> str | None:
    """Return the status a constant expression names, or None if not constant."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute) and _root(node) == "JobRun":
        return node.attr.lower()
    return None


def _plain_sql_problem(call: ast.Call, name: str) -> str | None:
    """Return why a `jobs.services.plain_sql` write may end a run, or None."""
    model = call.args[0] if call.args else None
    if model is None or ast.unparse(model) != "JobRun":
        return None
    if name == "insert_returning_ids":
        return PLAIN_INSERT
    if name == "update_each":
        return "updates runs in bulk (plain SQL)"
    changes = next((k.value for k in call.keywords if k.arg == "changes"), None)
    if not isinstance(changes, ast.Dict):
        return "updates runs with unnamed columns"
    for key, value in zip(changes.keys, changes.values, strict=True):
        if key is None:
            return "updates runs with unnamed (**) columns"
        if isinstance(key, ast.Constant) and key.value == "status":
            status = _status_value(value)
            if status in TERMINAL or status is None:
                return f"writes status={ast.unparse(value)}"
    return None


def _call_problem(call: ast.Call) -> str | None:
    """Return why `call` may write a terminal status to a run, or None."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else ""
    if isinstance(func, ast.Name):
        name = func.id
    if name in PLAIN_SQL_WRITES:
        return _plain_sql_problem(call, name)
    if not isinstance(func, ast.Attribute) or func.attr not in WRITES:
        return None
    on_runs = _root(func) == "JobRun"
    if on_runs and func.attr in {"bulk_create", "bulk_update"}:
        return BULK
    for keyword in call.keywords:
        if keyword.arg is None and on_runs:
            return "updates runs with unnamed (**) columns"
        if keyword.arg == "status":
            value = _status_value(keyword.value)
            if value in TERMINAL or (value is None and on_runs):
                return f"writes status={ast.unparse(keyword.value)}"
    return None


def _assign_problem(node: ast.Assign) -> str | None:
    """Return why an assignment sets a run's status to a terminal one, or None."""
    targets = [
        t
        for target in node.targets
        for t in (target.elts if isinstance(target, ast.Tuple) else [target])
    ]
    if not any(isinstance(t, ast.Attribute) and t.attr == "status" for t in targets):
        return None
    values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
    if any(_status_value(v) in TERMINAL for v in values):
        return "assigns a terminal status"
    return None


def terminal_writes(source: str, path: str) -> list[str]:
    """Return "path:line: why" for each possible terminal-status write."""
    found = []
    for node in ast.walk(ast.parse(source)):
        problem = None
        if isinstance(node, ast.Call):
            problem = _call_problem(node)
        elif isinstance(node, ast.Assign):
            problem = _assign_problem(node)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and RAW_STATUS_SQL.search(node.value)
            and path not in RAW_SQL_ALLOWED
        ):
            problem = "raw SQL sets a status"
        # Calls, assignments and constants all have a line (expr or stmt).
        if problem and isinstance(node, ast.expr | ast.stmt):
            found.append(f"{path}:{node.lineno}: {problem}")
    return found


def package_sources() -> list[tuple[str, str]]:
    """Return (relative path, source) of the jobs package, tests aside."""
    root = Path(jobs.__file__).parent
    return [
        (str(path.relative_to(root.parent)), path.read_text())
        for path in sorted(root.rglob("*.py"))
        if not {"tests", "migrations"} & set(path.relative_to(root).parts)
    ]


def test_only_runs_end_writes_a_terminal_run_state() -> None:
    """Outside outcomes.py nothing writes a terminal status to a run."""
    found = [
        problem
        for path, source in package_sources()
        if path != WRITER
        for problem in terminal_writes(source, path)
        if not (path in BULK_INSERT_ALLOWED and problem.endswith(BULK))
    ]
    assert found == []


def test_bulk_inserts_outside_the_writer_are_queued_runs() -> None:
    """Where runs are inserted in bulk, every run built there is a queued one."""
    sources = dict(package_sources())
    for path in BULK_INSERT_ALLOWED:
        built = [
            node
            for node in ast.walk(ast.parse(sources[path]))
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "JobRun"
        ]
        assert built, path
        for call in built:
            statuses = [
                ast.unparse(k.value) for k in call.keywords if k.arg == "status"
            ]
            assert statuses == ["JobRun.Status.QUEUED"], f"{path}:{call.lineno}"


def test_the_writer_is_runs_end() -> None:
    """In outcomes.py, the terminal writes sit in runs_end and its helper."""
    source = dict(package_sources())[WRITER]
    tree = ast.parse(source)
    writers = {
        function.name
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and (
            (
                node.func.attr in {"update", "bulk_create"}
                and _root(node.func) == "JobRun"
            )
            or (
                node.func.attr in PLAIN_SQL_WRITES
                and ast.unparse(node.args[0]) == "JobRun"
            )
        )
    }
    assert writers == {"runs_end", "_update"}


@pytest.mark.parametrize(
    "snippet",
    [
        "JobRun.objects.filter(pk=1).update(status=JobRun.Status.FAILED)",
        "queued.update(status=JobRun.Status.CANCELLED, finished_at=now)",
        "JobRun.objects.filter(pk=1).update(**fields)",
        "JobRun.objects.filter(pk=1).update(status=status)",
        "JobRun.objects.create(job=job, status='skipped')",
        "JobRun.objects.bulk_create(records)",
        "run.status = JobRun.Status.LOST",
        "run.status, run.reason = JobRun.Status.BLOCKED, reason",
        "cursor.execute('UPDATE jobs_jobrun SET status = %s WHERE id = %s')",
        "plain_sql.update_where(JobRun, pk=1, expected={}, changes={'status': 'lost'})",
        "update_where(JobRun, pk=1, expected={}, changes={'status': status})",
        "plain_sql.update_where(JobRun, pk=1, expected={}, changes=fields)",
        "plain_sql.update_where(JobRun, pk=1, expected={}, changes={**fields})",
        "plain_sql.insert_returning_ids(JobRun, runs)",
        "plain_sql.update_each(JobRun, updates)",
    ],
)
def test_a_second_writer_would_be_found(snippet: str) -> None:
    """Each way of writing a terminal status is caught."""
    assert terminal_writes(snippet, "jobs/services/new.py")


@pytest.mark.parametrize(
    "snippet",
    [
        "JobRun.objects.create(job=job, status=JobRun.Status.QUEUED)",
        "JobRun.objects.filter(pk=1).update(output=text)",
        "plain_sql.update_where(JobRun, pk=1, expected={}, changes={'host': h})",
        "plain_sql.update_where(Job, pk=1, expected={}, changes={'status': s})",
        "plain_sql.insert_returning_ids(RunEvent, events)",
        "plain_sql.update_each(Job, updates)",
        "Script.objects.filter(pk=1).update(status=Script.Status.APPROVED)",
        "JobRun(job=job, status=JobRun.Status.SKIPPED)",
    ],
)
def test_other_writes_are_left_alone(snippet: str) -> None:
    """Queued runs, other columns, other models and unsaved rows pass."""
    assert terminal_writes(snippet, "jobs/services/new.py") == []
