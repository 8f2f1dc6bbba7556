"""Example job (template "Report generation"): summarise JSON records.

Usage: report_generate.py INPUT OUTPUT [TITLE]

INPUT is a JSON list of objects (records). The report counts them and sums
every numeric field. OUTPUT ending in .sqlite3 or .db gets the records
(table "records": one JSON text per row) and the sums (table "totals");
any other OUTPUT gets the report as Markdown. Exit 0 on success, 1 with a
message when INPUT is missing or not a list of objects.
"""

import json
import sqlite3
import sys
from pathlib import Path


def totals(records: list[dict]) -> dict[str, float]:
    """Return the sum of each numeric field over the records."""
    sums: dict[str, float] = {}
    for record in records:
        for key, value in record.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                sums[key] = sums.get(key, 0) + value
    return dict(sorted(sums.items()))


def write_database(path: Path, records: list[dict], sums: dict[str, float]) -> None:
    """Replace the tables "records" and "totals" in the SQLite file `path`."""
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE IF EXISTS records")
        db.execute("DROP TABLE IF EXISTS totals")
        db.execute("CREATE TABLE records (record TEXT NOT NULL)")
        db.execute("CREATE TABLE totals (field TEXT PRIMARY KEY, total REAL)")
        db.executemany(
            "INSERT INTO records VALUES (?)",
            [(json.dumps(r, sort_keys=True),) for r in records],
        )
        db.executemany("INSERT INTO totals VALUES (?, ?)", sums.items())


def write_markdown(path: Path, title: str, records: list, sums: dict) -> None:
    """Write the report as Markdown."""
    lines = [f"# {title}", "", f"Records: {len(records)}", ""]
    lines += ["| field | total |", "|---|---|"]
    lines += [f"| {key} | {value:g} |" for key, value in sums.items()]
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    """Read, summarise, write."""
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 1
    source, output = Path(argv[0]), Path(argv[1])
    title = argv[2] if len(argv) == 3 else "Report"
    try:
        records = json.loads(source.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"Cannot read records from {source}: {exc}", file=sys.stderr)
        return 1
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        print(f"{source} must hold a JSON list of objects", file=sys.stderr)
        return 1
    sums = totals(records)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix in (".sqlite3", ".db"):
        write_database(output, records, sums)
    else:
        write_markdown(output, title, records, sums)
    print(f"reported {len(records)} record(s) into {output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
