"""Create the first superuser with a random password and print the login once."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from accounts.services import admin_ensure

MSG_CREATED = "Admin login: {username} / {password} (also kept in {file})"
MSG_EXISTS = "Admin login: {username} (the first password is kept in {file})"


class Command(BaseCommand):
    help = (
        "Create the superuser 'admin' with a random password once and print the "
        "login; later calls name the user only, never the password."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        """Create the user if needed; print its password only when created."""
        login_file = settings.BASE_DIR / "var" / "admin-login.txt"
        user, password = admin_ensure(username=username, login_file=login_file)
        message = MSG_CREATED if password else MSG_EXISTS
        shown_file = "var/admin-login.txt"
        self.stdout.write(
            message.format(
                username=user.get_username(), password=password, file=shown_file
            )
        )
