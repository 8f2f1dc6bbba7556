"""Job documents: the JSON shape of a job in the API, import and export.

A job document is flat except for three policy groups::

    {"name": "nightly-export", "description": "", "script": "export.py",
     "args": [], "env": {}, "secrets": ["API_TOKEN"], "working_dir": "",
     "timezone": "Asia/Hong_Kong",
     "active": true, "priority": 0, "timeout_seconds": null,
     "blackout_action": "skip",
     "schedules": [{"type": "daily", "time": "02:00"}],
     "parameters": [{"name": "region", "type": "choice", "required": true,
                     "default": "apac", "choices": ["apac", "emea"],
                     "description": ""}],
     "blackouts": ["holidays-hk"],
     "retry": {"max_attempts": 1, ...}, "concurrency": {"policy": "forbid", ...},
     "misfire": {"policy": "run_once", "grace_seconds": 60},
     "retention": {"days": null, "runs": null, "output_days": null},
     "dependency_mode": "all_success",
     "dependencies": [{"job": "nightly-fetch", "window_hours": null}]}

"retention" numbers left null take the JOB_PORTAL_RETENTION_* settings.

Pure Python: this module maps a job's attributes to a document and reads or
writes files of documents; it never touches the database itself. Validation
of a document is `jobs.document_schema`'s job.
"secrets" lists the names of the job's secrets, never their values;
"parameters" lists the run parameters the job declares, in their order;
"blackouts" the names of its blackout calendars (`BlackoutCalendar`),
which must exist where the document is imported (global calendars apply
without being named).
"dependencies" names the jobs this one runs after (A to Z), each with its
window in hours (null: any age).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import yaml

from jobs.errors import JobsError

if TYPE_CHECKING:
    from jobs.models import Job

# Document key -> model field, for the keys at the top level.
FLAT_FIELDS: dict[str, str] = {
    "name": "name",
    "description": "description",
    "script": "script",
    "args": "args",
    "env": "env",
    "working_dir": "working_dir",
    "timezone": "timezone",
    "active": "is_active",
    "priority": "priority",
    "timeout_seconds": "timeout_seconds",
    "blackout_action": "blackout_action",
    "pre_hook": "pre_hook",
    "post_hook": "post_hook",
    "dependency_mode": "dependency_mode",
}
RETRY_FIELDS: dict[str, str] = {
    "max_attempts": "retry_max_attempts",
    "delay_seconds": "retry_delay_seconds",
    "backoff": "retry_backoff",
    "max_delay_seconds": "retry_max_delay_seconds",
    "exit_codes": "retry_exit_codes",
    "on_timeout": "retry_on_timeout",
    "on_lost": "retry_on_lost",
    "max_total_seconds": "retry_max_total_seconds",
}
CONCURRENCY_FIELDS: dict[str, str] = {
    "policy": "concurrency_policy",
    "max_concurrent": "max_concurrent",
}
MISFIRE_FIELDS: dict[str, str] = {
    "policy": "misfire_policy",
    "grace_seconds": "misfire_grace_seconds",
}
RETENTION_FIELDS: dict[str, str] = {
    "days": "retention_days",
    "runs": "retention_runs",
    "output_days": "output_retention_days",
}
# Group key -> (group's document key -> model field).
GROUPS: dict[str, dict[str, str]] = {
    "retry": RETRY_FIELDS,
    "concurrency": CONCURRENCY_FIELDS,
    "misfire": MISFIRE_FIELDS,
    "retention": RETENTION_FIELDS,
}
# Model field -> its path in a document ("retry_max_attempts" ->
# "retry.max_attempts"), for error messages that speak the document's terms.
FIELD_PATHS: dict[str, str] = {
    **{field: key for key, field in FLAT_FIELDS.items()},
    **{
        field: f"{group}.{key}"
        for group, fields in GROUPS.items()
        for key, field in fields.items()
    },
}
# Every model field a document sets (schedules are rows of their own).
MODEL_FIELDS: tuple[str, ...] = tuple(FIELD_PATHS)
# The names of the job's secrets (a relation, so not among MODEL_FIELDS).
SECRETS_KEY = "secrets"
# The job's declared run parameters (rows of their own, in order).
PARAMETERS_KEY = "parameters"
# A parameter document's keys, in the order they are written.
PARAMETER_KEYS = ("name", "type", "required", "default", "choices", "description")
# The names of the job's blackout calendars (a relation too).
BLACKOUTS_KEY = "blackouts"
# The jobs this one depends on (rows of their own), and each one's keys.
DEPENDENCIES_KEY = "dependencies"
DEPENDENCY_JOB_KEY = "job"
DEPENDENCY_WINDOW_KEY = "window_hours"

FORMATS = ("json", "yaml")
_EXTENSIONS = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}

MSG_EMPTY = "The file holds no data; expected a list of job documents."
MSG_TOP_LEVEL = (
    'Expected a list of job documents or {{"jobs": [...]}} at the top level, '
    "got {kind}."
)
MSG_TOP_LEVEL_KEYS = 'Unknown top-level key(s): {keys}; only "jobs" is allowed there.'
MSG_JSON = "Not valid JSON: line {line} column {column}: {problem}."
MSG_YAML = "Not valid YAML: line {line} column {column}: {problem}."
MSG_YAML_NO_MARK = "Not valid YAML: {problem}."
MSG_FORMAT = "Unknown format {value!r}; use one of: {choices}."


class DocumentError(JobsError, ValueError):
    """A file of job documents cannot be read (syntax or top-level shape)."""


def job_to_document(
    job: Job,
    *,
    schedules: Sequence[Mapping[str, Any]] | None = None,
    secrets: Sequence[str] | None = None,
    parameters: Sequence[Mapping[str, Any]] | None = None,
    blackouts: Sequence[str] | None = None,
    dependencies: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return `job` as a job document.

    `schedules` replaces the job's stored schedule documents, `secrets` its
    secrets' names, `blackouts` its calendars' names, `parameters` its
    parameter documents and `dependencies` its dependency documents, for a
    job whose new ones are not saved yet. Keys of
    `env` and of each schedule document come out in a fixed order, so that
    equal jobs give equal text on every database (PostgreSQL's jsonb does
    not keep key order).
    """
    if schedules is None:
        schedules = job.schedule_documents()
    if secrets is None:
        secrets = secret_names(job)
    if parameters is None:
        parameters = parameter_documents(job)
    if blackouts is None:
        blackouts = blackout_names(job)
    if dependencies is None:
        dependencies = dependency_documents(job)
    document: dict[str, Any] = {}
    for key, field in FLAT_FIELDS.items():
        document[key] = copy.deepcopy(getattr(job, field))
        if key == "env":
            document[SECRETS_KEY] = sorted(secrets)
    document["env"] = dict(sorted(document["env"].items()))
    document["schedules"] = [schedule_document(s) for s in schedules]
    document[PARAMETERS_KEY] = [parameter_document(p) for p in parameters]
    document[BLACKOUTS_KEY] = sorted(blackouts)
    for group, fields in GROUPS.items():
        document[group] = {
            key: copy.deepcopy(getattr(job, field)) for key, field in fields.items()
        }
    document[DEPENDENCIES_KEY] = dependencies_sorted(dependencies)
    return document


def secret_names(job: Job) -> list[str]:
    """Return the names of the job's secrets, A to Z (never their values)."""
    if job.pk is None:
        return []
    # .all() rather than values_list(): uses a prefetch when there is one.
    return sorted(secret.name for secret in job.secrets.all())


def parameter_documents(job: Job) -> list[dict[str, Any]]:
    """Return the job's declared parameters as documents, in their order."""
    if job.pk is None:
        return []
    # .all() rather than values(): uses a prefetch when there is one.
    return [
        {
            "name": p.name,
            "type": p.type,
            "required": p.is_required,
            "default": p.default,
            "choices": list(p.choices or []),
            "description": p.description,
        }
        for p in job.parameters.all()
    ]


def parameter_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of a parameter document with its keys in document order."""
    ordered = {key: document[key] for key in PARAMETER_KEYS if key in document}
    ordered.update((k, v) for k, v in document.items() if k not in ordered)
    return copy.deepcopy(ordered)


def blackout_names(job: Job) -> list[str]:
    """Return the names of the job's blackout calendars, A to Z."""
    if job.pk is None:
        return []
    return sorted(calendar.name for calendar in job.blackout_calendars.all())


def dependency_documents(job: Job) -> list[dict[str, Any]]:
    """Return the job's dependencies as documents, by upstream name."""
    if job.pk is None:
        return []
    # .all() rather than values(): uses a prefetch when there is one.
    return dependencies_sorted(
        {
            DEPENDENCY_JOB_KEY: dependency.depends_on.name,
            DEPENDENCY_WINDOW_KEY: dependency.window_hours,
        }
        for dependency in job.dependencies.all()
    )


def dependencies_sorted(
    dependencies: Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Return dependency documents as "job", "window_hours", by job name."""
    documents = [
        {
            DEPENDENCY_JOB_KEY: d[DEPENDENCY_JOB_KEY],
            DEPENDENCY_WINDOW_KEY: d.get(DEPENDENCY_WINDOW_KEY),
        }
        for d in dependencies
    ]
    return sorted(documents, key=lambda d: str(d[DEPENDENCY_JOB_KEY]))


def schedule_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of a schedule document with "type" first, then A to Z."""
    rest = sorted((key, value) for key, value in document.items() if key != "type")
    ordered = {"type": document.get("type")} if "type" in document else {}
    ordered.update(rest)
    return copy.deepcopy(ordered)


def document_path(field: str) -> str:
    """Return where model field `field` sits in a document ("retry.backoff")."""
    return FIELD_PATHS.get(field, field)


def format_for_path(path: str) -> str | None:
    """Return the format a file name's extension implies, or None."""
    return _EXTENSIONS.get(PurePath(path).suffix.lower())


def documents_dump(documents: Sequence[Mapping[str, Any]], *, fmt: str) -> str:
    """Return `documents` as JSON or YAML text ending in a newline.

    JSON is indented by two spaces with sorted keys; YAML keeps the
    document's own key order (name first), which `job_to_document` fixes.
    Both are stable: the same jobs always give the same text.
    """
    if fmt == "json":
        text = json.dumps(list(documents), indent=2, sort_keys=True, ensure_ascii=False)
        return text + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(
            [dict(d) for d in documents],
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
        )
    raise ValueError(MSG_FORMAT.format(value=fmt, choices=", ".join(FORMATS)))


def documents_load(text: str, *, fmt: str | None = None) -> list[Any]:
    """Parse JSON or YAML `text` and return its list of job documents.

    `fmt` None guesses from the content: JSON if it starts with "[" or "{",
    YAML otherwise. The top level is a list of documents or an object whose
    only key is "jobs". The documents themselves are not validated here.
    Raise `DocumentError` with the parser's line and column when it has them.
    """
    if fmt is None:
        fmt = "json" if text.lstrip().startswith(("[", "{")) else "yaml"
    if fmt == "json":
        data = _load_json(text)
    elif fmt == "yaml":
        data = _load_yaml(text)
    else:
        raise DocumentError(MSG_FORMAT.format(value=fmt, choices=", ".join(FORMATS)))
    if data is None:
        raise DocumentError(MSG_EMPTY)
    if isinstance(data, Mapping):
        extra = sorted(str(key) for key in data if key != "jobs")
        if extra:
            raise DocumentError(MSG_TOP_LEVEL_KEYS.format(keys=", ".join(extra)))
        if "jobs" not in data:
            raise DocumentError(MSG_TOP_LEVEL.format(kind="an object without jobs"))
        data = data["jobs"]
    if not isinstance(data, list):
        raise DocumentError(MSG_TOP_LEVEL.format(kind=_kind(data)))
    return data


TEMPLATES_KEY = "templates"
MSG_TEMPLATES_LIST = 'Expected a list of template documents under "templates".'


def templates_dump(documents: Sequence[Mapping[str, Any]], *, fmt: str) -> str:
    """Return template documents as `{"templates": [...]}` in JSON or YAML."""
    data = {TEMPLATES_KEY: [dict(d) for d in documents]}
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(
            data, sort_keys=False, allow_unicode=True, default_flow_style=False
        )
    raise ValueError(MSG_FORMAT.format(value=fmt, choices=", ".join(FORMATS)))


def templates_load(text: str, *, fmt: str | None = None) -> list[Any] | None:
    """Return the template documents of a `{"templates": [...]}` file, or None.

    None means the file is not a templates document (read it with
    `documents_load`). Raise `DocumentError` on a syntax error or when
    "templates" holds no list.
    """
    if fmt is None:
        fmt = "json" if text.lstrip().startswith(("[", "{")) else "yaml"
    data = _load_json(text) if fmt == "json" else _load_yaml(text)
    if not isinstance(data, Mapping) or TEMPLATES_KEY not in data:
        return None
    extra = sorted(str(key) for key in data if key != TEMPLATES_KEY)
    if extra:
        raise DocumentError(MSG_TOP_LEVEL_KEYS.format(keys=", ".join(extra)))
    templates = data[TEMPLATES_KEY]
    if not isinstance(templates, list):
        raise DocumentError(MSG_TEMPLATES_LIST)
    return templates


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            MSG_JSON.format(line=exc.lineno, column=exc.colno, problem=exc.msg)
        ) from None


class _YamlLoader(yaml.SafeLoader):
    """Safe loader that reads 10:30 as the string "10:30".

    YAML 1.1 reads an unquoted 10:30 as the base-60 number 630, which would
    turn a hand-written schedule time into a confusing error.
    """

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        """Keep base-60 scalars ("10:30") as strings."""
        if ":" in str(node.value):
            return self.construct_scalar(node)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> Any:
        """Keep base-60 scalars ("10:30.5") as strings."""
        if ":" in str(node.value):
            return self.construct_scalar(node)
        return super().construct_yaml_float(node)


_YamlLoader.add_constructor("tag:yaml.org,2002:int", _YamlLoader.construct_yaml_int)
_YamlLoader.add_constructor("tag:yaml.org,2002:float", _YamlLoader.construct_yaml_float)


def _load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "unreadable"
        if mark is None:
            raise DocumentError(MSG_YAML_NO_MARK.format(problem=problem)) from None
        raise DocumentError(
            MSG_YAML.format(line=mark.line + 1, column=mark.column + 1, problem=problem)
        ) from None
    except yaml.YAMLError as exc:
        raise DocumentError(MSG_YAML_NO_MARK.format(problem=exc)) from None


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__
