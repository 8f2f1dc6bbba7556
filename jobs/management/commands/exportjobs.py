"""`manage.py exportjobs`: write every job as JSON or YAML job documents."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.documents import FORMATS, documents_dump, format_for_path, templates_dump
from jobs.services.template_transfer import templates_export
from jobs.services.transfer import jobs_export

MSG_WRITE = "Cannot write {path}: {problem}."
MSG_DONE = "Exported {count} job(s) to {path}."
MSG_DONE_TEMPLATES = "Exported {count} template(s) to {path}."


class Command(BaseCommand):
    help = (
        "Write every job as a list of job documents, ordered by name, to "
        "standard output or --output FILE. JSON is indented with sorted keys; "
        "YAML keeps each document's order (name first). The output is stable "
        "and `importjobs` reads it back. --templates writes the job templates "
        'instead, as {"templates": [...]}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare --format and --output."""
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default=None,
            help="json or yaml (default: from the --output extension, else json).",
        )
        parser.add_argument(
            "--output",
            "-o",
            default=None,
            metavar="FILE",
            help="Write to FILE instead of standard output.",
        )
        parser.add_argument(
            "--templates",
            action="store_true",
            help='Export the job templates ({"templates": [...]}) instead of jobs.',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Export, render and write."""
        path = options["output"]
        fmt = options["format"] or (path and format_for_path(path)) or "json"
        if options["templates"]:
            documents = templates_export()
            text = templates_dump(documents, fmt=fmt)
            done = MSG_DONE_TEMPLATES
        else:
            documents = jobs_export()
            text = documents_dump(documents, fmt=fmt)
            done = MSG_DONE
        if not path:
            self.stdout.write(text, ending="")
            return
        try:
            with open(path, "w", encoding="utf-8") as output:
                output.write(text)
        except OSError as exc:
            problem = exc.strerror or str(exc)
            raise CommandError(MSG_WRITE.format(path=path, problem=problem)) from None
        self.stdout.write(done.format(count=len(documents), path=path))
