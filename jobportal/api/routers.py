"""The API's router: paths without a trailing slash, one accepted too."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """A router whose paths take an optional trailing slash (`/api/jobs/7/run/`).

    DRF turns any `trailing_slash` argument into "/" or "", so the pattern
    is set after construction.
    """

    def __init__(self) -> None:
        """Build the router with optional-slash routes."""
        super().__init__()
        self.trailing_slash = "/?"
