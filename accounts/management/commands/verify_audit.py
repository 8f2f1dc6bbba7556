"""Check the audit log's hash chain and report the first broken link."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.audit_chain import MSG_INTACT, MSG_LAST
from accounts.selectors import audit_chain_report


class Command(BaseCommand):
    help = (
        "Check that no audit event was changed or deleted: exit 0 and print "
        "'Audit chain intact: N events', or exit 1 naming the first broken event."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_chain_report()
        if report.broken is not None:
            raise CommandError(report.broken.message, returncode=1)
        self.stdout.write(MSG_INTACT.format(count=report.count))
        if report.last is not None:
            # Kept elsewhere, this also reveals the removal of the newest events.
            self.stdout.write(
                MSG_LAST.format(
                    id=report.last.id,
                    at=report.last.at.isoformat(),
                    hash=report.last.hash,
                )
            )
