"""Create the first superuser with a random password and print the login."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from accounts.services import admin_ensure


class Command(BaseCommand):
    help = "Create the superuser 'admin' with a random password once; print the login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        login_file = settings.BASE_DIR / "var" / "admin-login.txt"
        user, password = admin_ensure(username=username, login_file=login_file)
        shown = (
            password or "(changed since it was generated; reset it with changepassword)"
        )
        self.stdout.write(f"Admin login: {user.get_username()} / {shown}")
