"""What the admin mixins extend, as mypy sees it.

The mixins here are only ever mixed into a `ModelAdmin`. At run time they
derive from `object`, so the concrete admin's method order is unchanged; for
mypy they derive from `ModelAdmin`, which types their `super()` calls,
`self.admin_site`, `get_object` and `message_user`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib import admin

    ModelAdminMixin = admin.ModelAdmin[Any]
else:
    ModelAdminMixin = object
