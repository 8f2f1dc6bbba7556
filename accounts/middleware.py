"""Show the admin in the signed-in user's chosen time zone (`jobportal.times`)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.models import UserPreference
from jobportal.times import activate_viewer_zone


class DisplayZoneMiddleware:
    """Activate the user's display zone for admin pages; none for the rest."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Set the zone for this request, and clear it afterwards."""
        name = None
        user = getattr(request, "user", None)
        if request.path.startswith("/admin/") and user and user.is_authenticated:
            name = (
                UserPreference.objects.filter(user=user)
                .values_list("timezone", flat=True)
                .first()
            )
        activate_viewer_zone(name)
        try:
            return self.get_response(request)
        finally:
            activate_viewer_zone(None)
