"""A helper creating API keys for tests, through the service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from accounts.models import APIKey
from accounts.services.api_keys import api_key_create


def create_key(
    owner: User, *, name: str = "ci", now: datetime | None = None, **fields: Any
) -> tuple[APIKey, str]:
    """Create a key for `owner` at `now` (default: now); return it and the full key."""
    return api_key_create(
        api_key=APIKey(owner=owner, name=name, **fields),
        actor=owner,
        now=now or timezone.now(),
    )
