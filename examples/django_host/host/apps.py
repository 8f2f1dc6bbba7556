"""The host's own app (here it only holds the demo_job command)."""

from django.apps import AppConfig


class HostConfig(AppConfig):
    """The host project's app."""

    name = "host"
