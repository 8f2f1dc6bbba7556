"""`manage.py importjobs`: create or update jobs from a file of job documents."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobportal import clock
from jobs.documents import (
    FORMATS,
    DocumentError,
    documents_load,
    format_for_path,
    templates_load,
)
from jobs.services.template_transfer import templates_import
from jobs.services.transfer import ImportResult, JobImportError, jobs_import

MSG_READ = "Cannot read {path}: {problem}."
MSG_NOT_TEXT = "Cannot read {path}: not UTF-8 text (bad byte at offset {position})."
MSG_FILE = "{path}: {problem}"
MSG_INVALID = "Invalid job documents; nothing was written:\n{errors}"
MSG_INVALID_TEMPLATES = "Invalid template documents; nothing was written:\n{errors}"
MSG_SUMMARY = "Created {created}, updated {updated}, unchanged {unchanged}"
MSG_DRY_RUN = " (dry run: nothing written)"


class Command(BaseCommand):
    help = (
        "Create or update jobs from a JSON or YAML file (FILE, or - for "
        'standard input) holding a list of job documents or {"jobs": [...]}. '
        "Jobs are matched by name and updated in place; a key a document "
        "leaves out takes its default; jobs not in the file are left alone. "
        "All or nothing: one invalid job and nothing is written. A file "
        'holding {"templates": [...]} (`exportjobs --templates`) imports job '
        "templates by name the same way."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare FILE, --format and --dry-run."""
        parser.add_argument("file", help="Path of the file, or - for standard input.")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default=None,
            help="json or yaml (default: from the extension, else from the content).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and report what would change, but write nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Read the file, import it, report the counts."""
        path = options["file"]
        fmt = options["format"] or format_for_path(path)
        text = _read(path)
        try:
            templates = templates_load(text, fmt=fmt)
            documents = documents_load(text, fmt=fmt) if templates is None else []
        except DocumentError as exc:
            raise CommandError(MSG_FILE.format(path=path, problem=exc)) from None
        try:
            if templates is None:
                result = jobs_import(
                    documents=documents, now=clock.now(), dry_run=options["dry_run"]
                )
            else:
                result = templates_import(
                    documents=templates, now=clock.now(), dry_run=options["dry_run"]
                )
        except JobImportError as exc:
            errors = "\n".join(f"  {message}" for message in exc.messages)
            message = MSG_INVALID if templates is None else MSG_INVALID_TEMPLATES
            raise CommandError(message.format(errors=errors)) from None
        if options["verbosity"] >= 2:
            self._list(result)
        summary = MSG_SUMMARY.format(
            created=len(result.created),
            updated=len(result.updated),
            unchanged=len(result.unchanged),
        )
        self.stdout.write(summary + (MSG_DRY_RUN if options["dry_run"] else ""))

    def _list(self, result: ImportResult) -> None:
        """Print each job with what happened to it."""
        for action, names in (
            ("created", result.created),
            ("updated", result.updated),
            ("unchanged", result.unchanged),
        ):
            for name in names:
                self.stdout.write(f"{action}: {name}")


def _read(path: str) -> str:
    """Return the text of `path` ("-" is standard input), or raise CommandError."""
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as source:
                text = source.read()
    except OSError as exc:
        problem = exc.strerror or str(exc)
        raise CommandError(MSG_READ.format(path=path, problem=problem)) from None
    except UnicodeDecodeError as exc:
        raise CommandError(MSG_NOT_TEXT.format(path=path, position=exc.start)) from None
    # Editors on Windows may start a UTF-8 file with a byte order mark.
    return text.removeprefix("\ufeff")
