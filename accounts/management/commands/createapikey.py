"""Create an API key for a user and print it, once."""

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import APIKey
from accounts.services.api_keys import MAX_EXPIRES_IN_DAYS, api_key_create
from jobportal import clock

MSG_NO_USER = "No user is named {username!r}."
MSG_INACTIVE = "User {username!r} is inactive; their keys would not work."
MSG_BAD_DAYS = "--expires-in-days must be a whole number of days from 1 to {most}."
MSG_CREATED = (
    "Created API key {prefix} for {username}{expiry}. It is shown only this once:"
)


class Command(BaseCommand):
    help = (
        "Create an API key for USERNAME and print it once: the note goes to "
        "stderr and the key alone to stdout (KEY=$(manage.py createapikey ...))."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="What the key is for.")
        parser.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            help="Expire the key this many days from now (default: never).",
        )

    def handle(
        self,
        *args: Any,
        username: str,
        name: str,
        expires_in_days: int | None,
        **options: Any,
    ) -> None:
        owner = get_user_model()._default_manager.filter(username=username).first()
        if owner is None:
            raise CommandError(MSG_NO_USER.format(username=username))
        if not owner.is_active:
            raise CommandError(MSG_INACTIVE.format(username=username))
        if expires_in_days is not None and not (
            1 <= expires_in_days <= MAX_EXPIRES_IN_DAYS
        ):
            raise CommandError(MSG_BAD_DAYS.format(most=MAX_EXPIRES_IN_DAYS))
        now = clock.now()
        expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
        try:
            api_key, raw_key = api_key_create(
                api_key=APIKey(owner=owner, name=name, expires_at=expires_at),
                actor=None,
                now=now,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        expiry = f", expiring {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
        self.stderr.write(
            MSG_CREATED.format(prefix=api_key.prefix, username=username, expiry=expiry)
        )
        self.stdout.write(raw_key)
