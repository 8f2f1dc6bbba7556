"""Permission checks for API views, on top of `jobs.permissions`.

Views fetch objects only from what the user may see (`jobs_visible_to`,
`runs_visible_to`), so an object the user may not see is a 404, exactly as
in the admin; `require` turns a refused right on a visible object into 403.
"""

from __future__ import annotations

from rest_framework.exceptions import PermissionDenied

MSG_FORBIDDEN = "You do not have permission to {action}."


def require(allowed: bool, action: str) -> None:
    """Raise 403 naming `action` ("run this job") unless `allowed`."""
    if not allowed:
        raise PermissionDenied(MSG_FORBIDDEN.format(action=action))
