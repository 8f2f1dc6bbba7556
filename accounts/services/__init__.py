"""Writes to accounts, one module per subject: users, audit, permissions.

`admin_ensure` is re-exported so that `from accounts.services import
admin_ensure` keeps working.
"""

from accounts.services.users import admin_ensure

__all__ = ["admin_ensure"]
