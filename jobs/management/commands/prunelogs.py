"""`manage.py prunelogs`: apply run retention now, or say what it would do."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jobportal import clock
from jobs.services.retention import RetentionPass, retention_apply, retention_count

MSG_DRY_RUN = "Would delete {runs} runs and empty the output of {outputs} runs."
MSG_DONE = "Deleted {runs} runs and emptied the output of {outputs} runs."
# Batches one call runs at most; a larger backlog is left to the next call
# (or to the worker).
MAX_STEPS = 100_000


class Command(BaseCommand):
    help = (
        "Delete finished runs past retention and empty old output, as the "
        "worker does in the background (JOB_PORTAL_RETENTION_* settings and "
        'each job\'s "retention"); queued and running runs are never touched. '
        "Prints the counts; with --dry-run, changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare --dry-run."""
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be deleted and emptied; change nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Count, or apply batch after batch until nothing is due."""
        now = clock.now()
        if options["dry_run"]:
            counted = retention_count(now=now)
            self.stdout.write(
                MSG_DRY_RUN.format(
                    runs=counted.runs_deleted, outputs=counted.outputs_trimmed
                )
            )
            return
        total = RetentionPass()
        for _ in range(MAX_STEPS):
            step = retention_apply(now=now)
            total += step
            if not step.is_behind or not (step.runs_deleted or step.outputs_trimmed):
                break
        self.stdout.write(
            MSG_DONE.format(runs=total.runs_deleted, outputs=total.outputs_trimmed)
        )
