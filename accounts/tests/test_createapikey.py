"""`createapikey`: an operator creates a key for a user and sees it once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.management.commands.createapikey import (
    MSG_BAD_DAYS,
    MSG_INACTIVE,
    MSG_NO_USER,
)
from accounts.models import APIKey, AuditEvent
from accounts.services.api_keys import MAX_EXPIRES_IN_DAYS, api_key_authenticate

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(make_user: Callable[..., User]) -> User:
    """Return a user for a program to act as."""
    return make_user("deploy-bot", "Editor", is_staff=False)


def test_prints_the_key_alone_on_stdout(
    bot: User, capsys: pytest.CaptureFixture[str]
) -> None:
    """stdout holds just the key, which works; stderr says what was made."""
    call_command("createapikey", "deploy-bot", "--name", "deploys")
    out, err = capsys.readouterr()
    raw_key = out.strip()
    api_key = api_key_authenticate(raw_key=raw_key, now=timezone.now())
    assert (api_key.owner, api_key.name, api_key.expires_at) == (bot, "deploys", None)
    assert err.strip() == (
        f"Created API key {api_key.prefix} for deploy-bot. It is shown only this once:"
    )


def test_expiry_in_days(bot: User, capsys: pytest.CaptureFixture[str]) -> None:
    """--expires-in-days sets the expiry that many days ahead."""
    before = timezone.now()
    call_command("createapikey", "deploy-bot", "--name", "ci", "--expires-in-days", "7")
    expires_at = APIKey.objects.get().expires_at
    assert expires_at is not None
    assert (
        before + timedelta(days=7) <= expires_at <= timezone.now() + timedelta(days=7)
    )
    assert f"expiring {expires_at:%Y-%m-%d %H:%M} UTC" in capsys.readouterr().err


def test_creation_is_audited_as_the_system(bot: User) -> None:
    """The command has no signed-in actor: the event's actor is the system."""
    call_command("createapikey", "deploy-bot", "--name", "ci")
    event = AuditEvent.objects.get(target_type="accounts.apikey")
    assert (event.action, event.actor, event.actor_repr) == ("create", None, "")


def test_unknown_user_is_refused(db: None) -> None:
    """A name nobody has is a command error."""
    with pytest.raises(
        CommandError, match=re.escape(MSG_NO_USER.format(username="nobody"))
    ):
        call_command("createapikey", "nobody", "--name", "ci")


def test_inactive_user_is_refused(bot: User) -> None:
    """A key for an inactive user would never work: refused."""
    bot.is_active = False
    bot.save()
    message = MSG_INACTIVE.format(username="deploy-bot")
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("createapikey", "deploy-bot", "--name", "ci")
    assert APIKey.objects.count() == 0


@pytest.mark.parametrize("days", ["0", "-3", str(MAX_EXPIRES_IN_DAYS + 1)])
def test_bad_expiry_is_refused(bot: User, days: str) -> None:
    """Days outside 1..3650 are a command error."""
    message = MSG_BAD_DAYS.format(most=MAX_EXPIRES_IN_DAYS)
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command(
            "createapikey", "deploy-bot", "--name", "ci", "--expires-in-days", days
        )


def test_too_long_name_is_refused(bot: User) -> None:
    """The name's limit is reported, not a traceback."""
    with pytest.raises(CommandError, match="at most 100 characters"):
        call_command("createapikey", "deploy-bot", "--name", "x" * 101)
