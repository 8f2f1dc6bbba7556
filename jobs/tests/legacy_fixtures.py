"""Legacy portal databases built in tests from the legacy DDL, by version.

The DDL is the legacy SQLModel schema (see the legacy schema notes): v1, v2,
v3 and a fresh v4, plus "by hand" layouts where later columns were added
with ALTER TABLE at the end of the table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

JOBS_V1 = """
CREATE TABLE scheduled_jobs (
    id INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    script_path VARCHAR NOT NULL,
    interval_seconds INTEGER NOT NULL,
    is_active BOOLEAN NOT NULL,
    next_run DATETIME,
    PRIMARY KEY (id)
)"""
JOBS_V2 = """
CREATE TABLE scheduled_jobs (
    id INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    script_path VARCHAR NOT NULL,
    interval_seconds INTEGER NOT NULL,
    schedule_type VARCHAR NOT NULL,
    schedule_time VARCHAR,
    schedule_day INTEGER,
    is_active BOOLEAN NOT NULL,
    next_run DATETIME,
    PRIMARY KEY (id)
)"""
JOBS_V3_EXTRA = (
    "ALTER TABLE scheduled_jobs ADD COLUMN last_dispatched_at DATETIME",
    "ALTER TABLE scheduled_jobs ADD COLUMN dispatch_lock_until DATETIME",
    """CREATE TABLE worker_registration (
        worker_id VARCHAR(50) NOT NULL, hostname VARCHAR(255) NOT NULL,
        platform VARCHAR(50) NOT NULL, started_at DATETIME NOT NULL,
        last_heartbeat DATETIME NOT NULL, status VARCHAR(20) NOT NULL,
        jobs_processed INTEGER NOT NULL, current_job_id INTEGER,
        process_id INTEGER, PRIMARY KEY (worker_id))""",
    """CREATE TABLE job_dispatch (
        id INTEGER NOT NULL, job_id INTEGER NOT NULL,
        created_at DATETIME NOT NULL, claimed_at DATETIME,
        completed_at DATETIME, status VARCHAR(20) NOT NULL,
        worker_id VARCHAR(50), retry_count INTEGER NOT NULL,
        error_message TEXT, PRIMARY KEY (id),
        FOREIGN KEY(job_id) REFERENCES scheduled_jobs (id))""",
)
JOBS_V4 = """
CREATE TABLE scheduled_jobs (
    id INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    script_path VARCHAR NOT NULL,
    interval_seconds INTEGER NOT NULL,
    schedule_type VARCHAR NOT NULL,
    schedule_time VARCHAR,
    schedule_day INTEGER,
    is_active BOOLEAN NOT NULL,
    script_args VARCHAR,
    next_run DATETIME,
    PRIMARY KEY (id)
)"""
LOGS = """
CREATE TABLE job_execution_logs (
    id INTEGER NOT NULL,
    job_id INTEGER NOT NULL,
    run_time DATETIME NOT NULL,
    status VARCHAR NOT NULL,
    log_output TEXT,
    PRIMARY KEY (id),
    FOREIGN KEY(job_id) REFERENCES scheduled_jobs (id)
)"""
INDEXES = (
    "CREATE INDEX ix_scheduled_jobs_name ON scheduled_jobs (name)",
    "CREATE INDEX ix_job_execution_logs_job_id ON job_execution_logs (job_id)",
)
V2_BY_HAND = (
    "ALTER TABLE scheduled_jobs ADD COLUMN schedule_type VARCHAR",
    "ALTER TABLE scheduled_jobs ADD COLUMN schedule_time VARCHAR",
    "ALTER TABLE scheduled_jobs ADD COLUMN schedule_day INTEGER",
)
ARGS_BY_HAND = ("ALTER TABLE scheduled_jobs ADD COLUMN script_args VARCHAR",)

LAYOUTS: dict[str, tuple[str, ...]] = {
    "v1": (JOBS_V1,),
    "v1+v2": (JOBS_V1, *V2_BY_HAND),
    "v2": (JOBS_V2,),
    "v3": (JOBS_V2, *JOBS_V3_EXTRA),
    "v3+args": (JOBS_V2, *JOBS_V3_EXTRA, *ARGS_BY_HAND),
    "v4": (JOBS_V4,),
}
SCRIPTS = "C:\\Users\\dev\\job-trigger-portal\\app\\scripts\\"


def legacy_db(
    path: Path,
    layout: str,
    jobs: Iterable[Mapping[str, Any]] = (),
    logs: Iterable[Mapping[str, Any]] = (),
    extra_sql: Iterable[str] = (),
) -> Path:
    """Create a legacy SQLite file of `layout` holding `jobs` and `logs`."""
    connection = sqlite3.connect(path)
    with connection:
        for sql in (*LAYOUTS[layout], LOGS, *INDEXES, *extra_sql):
            connection.execute(sql)
        rows_insert(connection, jobs, logs)
    connection.close()
    return path


def rows_insert(
    connection: Any,
    jobs: Iterable[Mapping[str, Any]],
    logs: Iterable[Mapping[str, Any]],
    *,
    mark: str = "?",
) -> None:
    """Insert job and log rows (dicts by column name) with `connection`."""
    for table, rows in (("scheduled_jobs", jobs), ("job_execution_logs", logs)):
        for row in rows:
            columns = ", ".join(row)
            marks = ", ".join(mark for _ in row)
            connection.execute(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                tuple(row.values()),
            )


def job(legacy_id: int, name: str, **values: Any) -> dict[str, Any]:
    """Return a legacy job row with the columns every version has."""
    row: dict[str, Any] = {
        "id": legacy_id,
        "name": name,
        "script_path": SCRIPTS + "ok.py",
        "interval_seconds": 0,
        "is_active": 1,
    }
    row.update(values)
    return row


def log(
    legacy_id: int, job_id: int, status: str = "SUCCESS", **values: Any
) -> dict[str, Any]:
    """Return a legacy log row."""
    row: dict[str, Any] = {
        "id": legacy_id,
        "job_id": job_id,
        "run_time": f"2025-12-20 01:00:{legacy_id % 60:02d}.000000",
        "status": status,
        "log_output": f"STDOUT:\nrun {legacy_id}\n\nSTDERR:\n",
    }
    row.update(values)
    return row
