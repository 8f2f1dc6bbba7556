"""The Users list: roles shown, guardian's AnonymousUser left out (and as owner)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from guardian.conf import settings as guardian_settings

from accounts.roles import EDITOR, VIEWER

pytestmark = pytest.mark.django_db


@pytest.fixture
def anonymous() -> User:
    """Return guardian's AnonymousUser row (its post-migrate hook makes it)."""
    user, _ = User.objects.get_or_create(username=guardian_settings.ANONYMOUS_USER_NAME)
    return user


def test_users_list_shows_roles_and_hides_anonymous_user(
    admin_client: Client, anonymous: User, make_user: Callable[..., User]
) -> None:
    """Each person with their roles; no AnonymousUser row."""
    make_user("olive", EDITOR)
    make_user("vic", VIEWER)
    html = admin_client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert '<td class="field-roles">Editor</td>' in html
    assert '<td class="field-roles">Viewer</td>' in html
    assert '<td class="field-roles">superuser</td>' in html
    assert reverse("admin:auth_user_change", args=[anonymous.pk]) not in html


def test_owner_dropdown_offers_people_only(
    admin_client: Client, anonymous: User, scripts_dir: Path
) -> None:
    """The job form's Owner choices leave AnonymousUser out."""
    html = admin_client.get(reverse("admin:jobs_job_add")).content.decode()
    owner = html.split('name="owner"', 1)[1].split("</select>", 1)[0]
    assert f'value="{anonymous.pk}"' not in owner
    assert ">admin</option>" in owner
