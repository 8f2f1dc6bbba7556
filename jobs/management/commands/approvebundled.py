"""`manage.py approvebundled`: the first start's approval of the example scripts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobportal import clock
from jobs.management.quiet import quiet_info
from jobs.models import Script
from jobs.services.approval import scripts_approve_bundled

MSG_APPROVED = (
    "Approved the bundled example scripts as {user} (first start; see each "
    "script's approval history): {paths}"
)
MSG_PENDING = (
    "{count} script(s) pending review: approve them in the admin (Jobs > "
    "Scripts) before a job can run them."
)
MSG_NO_USER = "No user {username!r}: run ensureadmin first."


class Command(BaseCommand):
    help = (
        "On a fresh install (no script ever reviewed), approve the bundled "
        "example scripts whose content is unchanged, as USERNAME; otherwise say "
        "how many scripts wait for review."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        """Approve and print one line, or print the pending count if any."""
        actor = get_user_model().objects.filter(username=username).first()
        if actor is None:
            raise CommandError(MSG_NO_USER.format(username=username))
        with quiet_info(scripts_approve_bundled.__module__):
            approved = scripts_approve_bundled(actor=actor, now=clock.now())
        if approved:
            paths = ", ".join(script.path for script in approved)
            self.stdout.write(MSG_APPROVED.format(user=username, paths=paths))
            return
        pending = Script.objects.exclude(status=Script.Status.APPROVED).count()
        if pending:
            self.stdout.write(MSG_PENDING.format(count=pending))
