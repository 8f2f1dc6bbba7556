"""The legacy database reader: read-only, by column name, logs in batches."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jobs.legacy_source import LegacySourceError, source_open
from jobs.tests.legacy_fixtures import job, legacy_db, log


def _database(tmp_path: Path) -> Path:
    return legacy_db(
        tmp_path / "reflex.db",
        "v3+args",
        [job(1, "a", schedule_type="manual", script_args="-x")],
        [log(i, 1) for i in range(1, 8)],
    )


def test_rows_are_keyed_by_column_name_whatever_the_order(tmp_path: Path) -> None:
    with source_open(str(_database(tmp_path))) as source:
        rows = source.jobs()
        columns = source.columns("scheduled_jobs")

    assert columns[-1] == "script_args"
    assert rows[0]["script_args"] == "-x"
    assert rows[0]["schedule_type"] == "manual"


def test_logs_come_in_batches(tmp_path: Path) -> None:
    with source_open(str(_database(tmp_path))) as source:
        batches = list(source.logs(batch_size=3))

    assert [len(batch) for batch in batches] == [3, 3, 1]
    assert [row["id"] for batch in batches for row in batch] == list(range(1, 8))


def test_a_sqlite_url_is_opened_read_only(tmp_path: Path) -> None:
    path = _database(tmp_path)

    with source_open(f"sqlite:///{path}") as source:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            source.connection.execute("DELETE FROM scheduled_jobs")
        assert source.tables() == [
            "job_dispatch",
            "job_execution_logs",
            "scheduled_jobs",
            "worker_registration",
        ]


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello " * 200)

    with pytest.raises(LegacySourceError, match="file is not a database"):
        source_open(str(path))


def test_a_password_is_not_shown_in_errors() -> None:
    pytest.importorskip("psycopg")
    url = "postgres://someone:s3cret@127.0.0.1:1/none"

    with pytest.raises(LegacySourceError) as caught:
        source_open(url)

    assert "s3cret" not in str(caught.value)
    assert "someone:***@127.0.0.1:1" in str(caught.value)
