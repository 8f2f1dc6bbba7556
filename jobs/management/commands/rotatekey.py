"""`manage.py rotatekey`: re-encrypt every secret with the first key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobportal import clock
from jobs.crypto import EncryptionKeyError
from jobs.services.secrets import SecretUnreadableError, secrets_rotate

MSG_DONE = (
    "Re-encrypted {count} secret(s) with the first key of "
    "JOB_PORTAL_ENCRYPTION_KEY; the other keys can now be removed."
)


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret with the first key of JOB_PORTAL_ENCRYPTION_KEY. "
        "To rotate: put a new key first (NEW,OLD), run this, then drop OLD. "
        "All or nothing: a secret no key can decrypt stops it unchanged."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        """Rotate and report how many secrets were re-encrypted."""
        try:
            count = secrets_rotate(now=clock.now())
        except (EncryptionKeyError, SecretUnreadableError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(MSG_DONE.format(count=count))
