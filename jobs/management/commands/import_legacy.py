"""`manage.py import_legacy`: bring in the jobs and history of the legacy portal."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobportal import clock
from jobs.legacy_source import LegacySourceError, source_open
from jobs.services.legacy import LegacyImportError, legacy_import

MSG_FAILED = "Import failed; nothing was written: {problem}"
MSG_REPORT = "Cannot write the report {path}: {problem}."
MSG_SUMMARY = (
    "Schema {version} ({layout}): {jobs} legacy jobs, {created} created, "
    "{imported} imported in all, {not_imported} not imported, {active} active; "
    "runs {runs} ({new} new); {orphans} orphan logs skipped"
)
MSG_DRY_RUN = "Dry run: nothing was written."
MSG_IDS = "--era-bd takes legacy job ids separated by commas, not {value!r}."


class Command(BaseCommand):
    help = (
        "Import the jobs and run history of the legacy Job Trigger Portal from "
        "SOURCE, a SQLite file or a database URL (sqlite:///... or "
        "postgres://...), in one transaction. Running it again adds only "
        "what is new. Imported jobs are inactive unless --activate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare SOURCE, --dry-run, --report, --scripts-dir and --activate."""
        parser.add_argument("source", help="Legacy SQLite file or database URL.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Do the whole import, report it, then roll it back.",
        )
        parser.add_argument(
            "--report", metavar="FILE", help="Write the JSON report to FILE."
        )
        parser.add_argument(
            "--scripts-dir",
            metavar="DIR",
            help=(
                "The legacy scripts directory as the legacy portal stored it "
                "(for example C:\\portal\\app\\scripts); default: whatever "
                "follows the last app/scripts in each path."
            ),
        )
        parser.add_argument(
            "--era-bd",
            metavar="ID[,ID...]",
            default="",
            help=(
                "Legacy job ids known to be entered in era B or D (the +07:37 "
                "bug): their times are converted at +07:37, giving the time "
                "their authors typed, instead of the time the legacy system ran."
            ),
        )
        parser.add_argument(
            "--activate",
            action="store_true",
            help="Give each job the legacy active flag (default: all inactive).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Open the source, import it, write the report and the summary."""
        era_bd_ids = _ids(options["era_bd"])
        try:
            with source_open(options["source"]) as source:
                report = legacy_import(
                    source=source,
                    now=clock.now(),
                    dry_run=options["dry_run"],
                    activate=options["activate"],
                    legacy_dir=options["scripts_dir"],
                    era_bd_ids=era_bd_ids,
                )
        except (LegacySourceError, LegacyImportError) as exc:
            raise CommandError(MSG_FAILED.format(problem=exc)) from None
        if options["report"]:
            _write(options["report"], report)
        self._summary(report, dry_run=options["dry_run"])

    def _summary(self, report: dict[str, Any], *, dry_run: bool) -> None:
        totals = report["totals"]
        runs = ", ".join(f"{k} {v}" for k, v in totals["runs"].items())
        self.stdout.write(
            MSG_SUMMARY.format(
                version=report["schema_version"],
                layout=report["schema_layout"],
                jobs=totals["jobs"],
                created=totals["jobs_created"],
                imported=totals["jobs_imported"],
                not_imported=totals["jobs_not_imported"],
                active=totals["jobs_active"],
                runs=runs,
                new=totals["runs_created"],
                orphans=totals["orphan_logs"],
            )
        )
        for job in report["jobs"]:
            for warning in job["warnings"]:
                self.stdout.write(f"  legacy job {job['legacy_id']}: {warning}")
        for note in report["notes"]:
            self.stdout.write(f"  note: {note}")
        if dry_run:
            self.stdout.write(MSG_DRY_RUN)


def _ids(value: str) -> frozenset[int]:
    """Return the ids of a comma-separated list, or raise CommandError."""
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not all(part.isdigit() for part in parts):
        raise CommandError(MSG_IDS.format(value=value))
    return frozenset(int(part) for part in parts)


def _write(path: str, report: dict[str, Any]) -> None:
    try:
        with open(path, "w", encoding="utf-8") as target:
            json.dump(report, target, indent=2, ensure_ascii=False)
            target.write("\n")
    except OSError as exc:
        problem = exc.strerror or str(exc)
        raise CommandError(MSG_REPORT.format(path=path, problem=problem)) from None
