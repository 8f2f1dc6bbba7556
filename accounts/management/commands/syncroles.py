"""Give the role groups (Admin, Editor, Viewer) their permissions."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.services.roles import roles_sync
from jobportal import clock

MSG_UNCHANGED = "{role}: up to date"
MSG_CHANGED = "{role}: {created}added {added}, removed {removed}"


class Command(BaseCommand):
    help = (
        "Create the Admin, Editor and Viewer groups and give them the permissions "
        "accounts.roles maps them to (run after adding models). Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Also remove permissions the mapping does not give the role.",
        )

    def handle(self, *args: Any, prune: bool, **options: Any) -> None:
        for result in roles_sync(now=clock.now(), prune=prune):
            if not result.changed:
                self.stdout.write(MSG_UNCHANGED.format(role=result.role))
                continue
            self.stdout.write(
                MSG_CHANGED.format(
                    role=result.role,
                    created="created, " if result.created else "",
                    added=", ".join(result.added) or "nothing",
                    removed=", ".join(result.removed) or "nothing",
                )
            )
