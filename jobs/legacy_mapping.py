"""Turn rows of the legacy Job Trigger Portal into job documents and runs.

Pure: no Django imports and no clock reads. A row arrives as a mapping of
column name to value (SQLite text or PostgreSQL values alike); a job leaves
as `LegacyJob`, a log as `LegacyRun`, each with the warnings for the import
report. The rules are those of the legacy schema notes (schema versions by
the columns present, schedule values shifted back to Hong Kong wall-clock
time, script paths, shell-like arguments, statuses, output).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

HONG_KONG = "Asia/Hong_Kong"
HK_OFFSET_MINUTES = 480
# Eras B and D converted with Hong Kong's local mean time, rounded to +07:37.
ERA_BD_OFFSET_MINUTES = 457
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
JOB_TABLE = "scheduled_jobs"
LOG_TABLE = "job_execution_logs"
DISPATCH_TABLE = "job_dispatch"
JOB_COLUMNS = ("id", "name", "script_path", "interval_seconds", "is_active")
LOG_COLUMNS = ("id", "job_id", "run_time", "status", "log_output")
FIXED_TIME_TYPES = ("daily", "weekly", "monthly")

SUCCEEDED = "succeeded"
FAILED = "failed"
TIMED_OUT = "timed_out"

MSG_MISSING_TABLE = "Not a legacy portal database: table {table!r} is missing."
MSG_MISSING_COLUMN = "Not a legacy portal database: {table}.{column} is missing."
MSG_BAD_RUN_TIME = "Log {id}: run_time {value!r} is not a date and time."
MSG_BAD_ID = "{table} row: id {value!r} is not a whole number."
W_OUTSIDE = (
    "script path outside the legacy scripts directory: {path!r}; imported "
    "inactive with the file of the same name here: check it is the right "
    "script before activating"
)
W_ARGS = (
    "arguments cannot be split shell-like ({problem}): {raw!r}; imported "
    "inactive (the legacy worker failed every run of this job)"
)
W_UNKNOWN_TYPE = "unknown schedule type {value!r}; imported as manual and inactive"
W_BAD_INTERVAL = "interval of {value!r} seconds; imported as manual and inactive"
W_BAD_TIME = "schedule_time {value!r} is not HH:MM; imported as manual and inactive"
W_BAD_DAY = "schedule_day {value!r} is out of range; imported as manual and inactive"
W_CARRY = (
    "the legacy system ran this job one day later (on the 1st of the next "
    "month, Hong Kong time) in months without day {day}"
)
W_ERA = (
    "stored {stored} UTC runs at {local} Hong Kong time, as it did in the "
    "legacy system; if created in era B or D (+07:37) it was typed as "
    "{era_local}, in era A as {stored}"
)
W_ERA_BD = (
    "stored {stored} UTC converted at +07:37 as asked (era B or D): "
    "{local} Hong Kong time, the time its author typed; the legacy system "
    "ran it at {actual}"
)
W_RUN_NOW = "a pending legacy 'Run now' was not re-triggered"
W_STATUS = "{count} log(s) with unknown status {status!r} imported as failed"

RUN_TIME = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)
HH_MM = re.compile(r"^\s*(\d{1,2}):(\d{1,2})(?::\d{1,2})?\s*$")


class LegacyDataError(ValueError):
    """A legacy database or row cannot be read by the rules."""


@dataclass(frozen=True)
class Schema:
    """What the column set says about a legacy database."""

    version: str
    layout: str


@dataclass
class LegacyJob:
    """One legacy job mapped to the new representation."""

    legacy_id: int
    name: str
    legacy_script: str
    script: str
    is_script_inside: bool
    schedule: dict[str, Any]
    args: list[str]
    args_raw: str | None
    is_legacy_active: bool
    is_importable_active: bool
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LegacyRun:
    """One legacy log mapped to a finished run."""

    legacy_id: int
    legacy_job_id: int
    at: datetime
    status: str
    output: str
    legacy_status: str
    is_status_known: bool


def schema_detect(columns: Sequence[str]) -> Schema:
    """Return the schema version from the job table's columns, by name.

    Columns added by hand come after the original ones, so their order
    tells a fresh v4 database from a v2/v3 one given `script_args` later.
    """
    names = [c.lower() for c in columns]
    for column in JOB_COLUMNS:
        if column not in names:
            raise LegacyDataError(
                MSG_MISSING_COLUMN.format(table=JOB_TABLE, column=column)
            )
    has = set(names)
    by_hand = "schedule_type" in has and names.index("schedule_type") > names.index(
        "is_active"
    )
    if "script_args" in has:
        if "next_run" in has and names.index("script_args") < names.index("next_run"):
            return Schema("v4", "created by v4")
        return Schema("v4", "script_args added by hand")
    if "last_dispatched_at" in has:
        return Schema("v3", "v3, or a v2 file upgraded to v3")
    if "schedule_type" in has:
        layout = "v1 with the v2 columns added by hand" if by_hand else "v2"
        return Schema("v2", layout)
    return Schema("v1", "v1")


def log_columns_check(columns: Sequence[str]) -> None:
    """Raise `LegacyDataError` naming a log column the rules need."""
    names = {c.lower() for c in columns}
    for column in LOG_COLUMNS:
        if column not in names:
            raise LegacyDataError(
                MSG_MISSING_COLUMN.format(table=LOG_TABLE, column=column)
            )


def whole(value: Any, *, table: str) -> int:
    """Return an id column's value as an int, or raise `LegacyDataError`."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise LegacyDataError(MSG_BAD_ID.format(table=table, value=value)) from None


def script_map(path: str, *, legacy_dir: str | None = None) -> tuple[str, bool]:
    """Return (new relative path, inside?) for a legacy absolute path.

    With `legacy_dir` (the legacy scripts folder as the legacy portal named
    it) a path under it is taken relative to it; otherwise the part after the
    last `app/scripts` pair. Anything else is kept verbatim, not inside.
    """
    segments = re.split(r"[\\/]", path)
    rest: list[str] | None = None
    if legacy_dir:
        prefix = [s.lower() for s in re.split(r"[\\/]", legacy_dir.rstrip("\\/"))]
        if [s.lower() for s in segments[: len(prefix)]] == prefix:
            rest = segments[len(prefix) :]
    if rest is None:
        lowered = [s.lower() for s in segments]
        for i in range(len(segments) - 2, -1, -1):
            if lowered[i] == "app" and lowered[i + 1] == "scripts":
                rest = segments[i + 2 :]
                break
    parts = [s for s in rest or [] if s and s != "."]
    if not parts or ".." in parts:
        return path, False
    return "/".join(parts), True


def args_split(raw: str | None) -> tuple[list[str], str | None]:
    """Return (arguments, problem) split by POSIX shell-like rules."""
    if raw is None or not raw.strip():
        return [], None
    try:
        return shlex.split(raw), None
    except ValueError as exc:
        return [], str(exc)


def _text(row: Mapping[str, Any], column: str) -> str | None:
    value = row.get(column)
    return None if value is None else str(value)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes")
    return bool(value)


def _hk_time(
    stored: str | None, offset_minutes: int = HK_OFFSET_MINUTES
) -> tuple[str, int, str] | None:
    """Return (HH:MM at the offset, day carry, HH:MM at the other one) or None.

    The other offset is +07:37 when converting at +08:00, and +08:00 when
    converting at +07:37 (eras B and D).
    """
    text = (stored or "").strip()
    if not text:
        hours, minutes = 0, 0
    else:
        match = HH_MM.match(text)
        if match is None:
            return None
        hours, minutes = int(match.group(1)), int(match.group(2))
        if hours > 23 or minutes > 59:
            return None
    other = (
        ERA_BD_OFFSET_MINUTES
        if offset_minutes == HK_OFFSET_MINUTES
        else HK_OFFSET_MINUTES
    )
    total = hours * 60 + minutes + offset_minutes
    era = (hours * 60 + minutes + other) % 1440
    local = total % 1440
    return (
        f"{local // 60:02d}:{local % 60:02d}",
        1 if total >= 1440 else 0,
        f"{era // 60:02d}:{era % 60:02d}",
    )


def _day(value: Any, default: int, low: int, high: int) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        day = int(value)
    except (TypeError, ValueError):
        return None
    return day if low <= day <= high else None


def _hourly(stored: str | None) -> dict[str, Any] | None:
    text = (stored or "").strip()
    minute_text = text.rsplit(":", 1)[-1] if text else "0"
    if not minute_text.isdigit() or int(minute_text) > 59:
        return None
    return {"type": "hourly", "minute": int(minute_text)}


def _fixed_time(
    kind: str, row: Mapping[str, Any], warnings: list[str], offset_minutes: int
) -> dict[str, Any] | None:
    stored = _text(row, "schedule_time")
    converted = _hk_time(stored, offset_minutes)
    if converted is None:
        warnings.append(W_BAD_TIME.format(value=stored))
        return None
    local, carry, era_local = converted
    document: dict[str, Any] = {"type": kind, "time": local, "timezone": HONG_KONG}
    if kind == "weekly":
        day = _day(row.get("schedule_day"), 0, 0, 6)
        if day is None:
            warnings.append(W_BAD_DAY.format(value=row.get("schedule_day")))
            return None
        weekday = WEEKDAYS[(day + carry) % 7]
        document = {
            "type": kind,
            "weekdays": [weekday],
            "time": local,
            "timezone": HONG_KONG,
        }
    elif kind == "monthly":
        day = _day(row.get("schedule_day"), 1, 1, 31)
        if day is None:
            warnings.append(W_BAD_DAY.format(value=row.get("schedule_day")))
            return None
        new_day = day + carry
        if new_day == 32:
            new_day = 1
        elif carry and new_day >= 29:
            warnings.append(W_CARRY.format(day=new_day))
        document = {"type": kind, "day": new_day, "time": local, "timezone": HONG_KONG}
    stored_text = (stored or "").strip() or "00:00"
    if offset_minutes == HK_OFFSET_MINUTES:
        warnings.append(
            W_ERA.format(stored=stored_text, local=local, era_local=era_local)
        )
    else:
        warnings.append(
            W_ERA_BD.format(stored=stored_text, local=local, actual=era_local)
        )
    return document


def schedule_map(
    row: Mapping[str, Any],
    warnings: list[str],
    *,
    offset_minutes: int = HK_OFFSET_MINUTES,
) -> dict[str, Any] | None:
    """Return the new schedule document, or None (with a warning) if unusable.

    Fixed times are shifted by `offset_minutes`: +08:00, what the legacy
    system ran, unless the operator says the job was entered in era B or D.
    """
    kind = (_text(row, "schedule_type") or "").strip().lower() or "interval"
    if kind == "interval":
        seconds = row.get("interval_seconds")
        try:
            value = int(seconds) if seconds is not None else 0
        except (TypeError, ValueError):
            value = 0
        if value <= 0:
            warnings.append(W_BAD_INTERVAL.format(value=seconds))
            return None
        return {"type": "interval", "seconds": value, **_interval_start(row)}
    if kind == "manual":
        if row.get("next_run") not in (None, ""):
            warnings.append(W_RUN_NOW)
        return {"type": "manual"}
    if kind == "hourly":
        document = _hourly(_text(row, "schedule_time"))
        if document is None:
            warnings.append(W_BAD_TIME.format(value=row.get("schedule_time")))
        return document
    if kind in FIXED_TIME_TYPES:
        return _fixed_time(kind, row, warnings, offset_minutes)
    warnings.append(W_UNKNOWN_TYPE.format(value=row.get("schedule_type")))
    return None


def _interval_start(row: Mapping[str, Any]) -> dict[str, str]:
    """Return {"start": next_run} so that an interval keeps its legacy phase.

    The legacy next_run is the dispatch time plus the interval (naive UTC),
    so the new schedule fires at the same instants. Without a readable one
    the job is stamped when it is saved, like any new interval.
    """
    next_run = row.get("next_run")
    if next_run in (None, ""):
        return {}
    try:
        at = run_time_parse(next_run, legacy_id=0)
    except LegacyDataError:
        return {}
    return {"start": at.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")}


def job_map(
    row: Mapping[str, Any],
    *,
    legacy_dir: str | None = None,
    era_bd_ids: frozenset[int] = frozenset(),
) -> LegacyJob:
    """Return the legacy job `row` mapped by the rules, with its warnings.

    Jobs whose ids are in `era_bd_ids` (an explicit opt-in, never guessed)
    have their fixed times converted at +07:37 instead of +08:00.
    """
    warnings: list[str] = []
    legacy_id = whole(row.get("id"), table=JOB_TABLE)
    offset = ERA_BD_OFFSET_MINUTES if legacy_id in era_bd_ids else HK_OFFSET_MINUTES
    schedule = schedule_map(row, warnings, offset_minutes=offset)
    is_allowed = schedule is not None
    legacy_script = _text(row, "script_path") or ""
    script, inside = script_map(legacy_script, legacy_dir=legacy_dir)
    if not inside:
        warnings.append(W_OUTSIDE.format(path=legacy_script))
        is_allowed = False
    raw = _text(row, "script_args")
    args, problem = args_split(raw)
    if problem is not None:
        warnings.append(W_ARGS.format(problem=problem, raw=raw))
        is_allowed = False
    is_active = _flag(row.get("is_active"))
    return LegacyJob(
        legacy_id=legacy_id,
        name=_text(row, "name") or "",
        legacy_script=legacy_script,
        script=script,
        is_script_inside=inside,
        schedule=schedule if schedule is not None else {"type": "manual"},
        args=args,
        args_raw=raw,
        is_legacy_active=is_active,
        is_importable_active=is_active and is_allowed,
        warnings=warnings,
    )


def run_time_parse(value: Any, *, legacy_id: int) -> datetime:
    """Return a log's run_time as an aware UTC datetime (naive means UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    match = RUN_TIME.match(str(value)) if value is not None else None
    if match is None:
        raise LegacyDataError(MSG_BAD_RUN_TIME.format(id=legacy_id, value=value))
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        at = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=UTC,
        )
    except ValueError:
        raise LegacyDataError(
            MSG_BAD_RUN_TIME.format(id=legacy_id, value=value)
        ) from None
    if offset and offset != "Z":
        digits = offset.replace(":", "")
        sign = -1 if digits[0] == "-" else 1
        shift = timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5]))
        at -= sign * shift
    return at


def status_map(legacy: Any, output: str) -> tuple[str, bool]:
    """Return (new status, known?) for a legacy log status and its output."""
    status = str(legacy or "").strip().upper()
    if status == "SUCCESS":
        return SUCCEEDED, True
    if status == "TIMEOUT":
        return TIMED_OUT, True
    if status == "FAILURE":
        if output.startswith("Execution timed out after"):
            return TIMED_OUT, True
        return FAILED, True
    return FAILED, status in ("ERROR", "UNKNOWN", "RUNNING")


def output_clean(value: Any) -> str:
    """Return the output byte-exact, but NULL as '' and U+0000 as U+FFFD."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value).replace("\x00", "\ufffd")


def log_map(row: Mapping[str, Any]) -> LegacyRun:
    """Return the legacy log `row` mapped to a finished run."""
    legacy_id = whole(row.get("id"), table=LOG_TABLE)
    output = output_clean(row.get("log_output"))
    status, known = status_map(row.get("status"), output)
    return LegacyRun(
        legacy_id=legacy_id,
        legacy_job_id=whole(row.get("job_id"), table=LOG_TABLE),
        at=run_time_parse(row.get("run_time"), legacy_id=legacy_id),
        status=status,
        output=output,
        legacy_status=str(row.get("status") or ""),
        is_status_known=known,
    )


def name_deduplicate(name: str, legacy_id: int, *, taken: set[str]) -> str:
    """Return `name`, or it with " [legacy <id>]" when `taken` has it."""
    if name not in taken:
        return name
    return f"{name} [legacy {legacy_id}]"
