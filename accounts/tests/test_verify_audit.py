"""`verify_audit`: intact chains pass; a row changed or deleted with SQL fails."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.db import connection

from accounts.audit_chain import (
    MSG_ALTERED,
    MSG_BROKEN_LINK,
    MSG_INTACT,
    event_digest,
)
from accounts.models import AuditEvent
from accounts.services.audit import AuditTarget, audit_record

pytestmark = pytest.mark.django_db

TARGET = AuditTarget(type="jobs.job", id="7", repr="nightly")


@pytest.fixture
def events(now: datetime) -> list[AuditEvent]:
    """Return a fresh chain of four events."""
    AuditEvent.objects.all().delete()
    return [
        audit_record(
            actor=None,
            action=AuditEvent.Action.UPDATE,
            target=TARGET,
            changes={"priority": [n, n + 1]},
            ip="198.51.100.7",
            now=now + timedelta(minutes=n),
        )
        for n in range(4)
    ]


def run_command() -> str:
    """Run verify_audit and return what it printed."""
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def exit_code() -> int:
    """Run verify_audit as `manage.py verify_audit` does; return its exit code."""
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "verify_audit"]).execute()
    return int(exited.value.code or 0)


def test_an_intact_chain_is_reported_with_its_count(events: list[AuditEvent]) -> None:
    """Exit 0 and 'Audit chain intact: N events', then the newest hash."""
    output = run_command().splitlines()
    assert output[0] == MSG_INTACT.format(count=4)
    assert output[1].startswith(f"Last event: #{events[-1].pk} at ")
    assert output[1].endswith(events[-1].hash)


def test_an_empty_log_is_intact(db: None) -> None:
    """No events at all is an intact chain of 0."""
    AuditEvent.objects.all().delete()
    assert run_command() == MSG_INTACT.format(count=0) + "\n"


def test_a_row_changed_with_sql_is_reported(
    events: list[AuditEvent], capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1, naming the changed event."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_auditevent SET actor_repr = %s WHERE id = %s",
            ["mallory", events[1].pk],
        )
    expected = MSG_ALTERED.format(id=events[1].pk)
    with pytest.raises(CommandError, match=expected) as raised:
        run_command()
    assert raised.value.returncode == 1
    assert exit_code() == 1
    assert expected in capsys.readouterr().err


def test_changed_json_changes_are_reported(events: list[AuditEvent]) -> None:
    """Editing the recorded old and new values breaks the hash too."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_auditevent SET changes = %s WHERE id = %s",
            ['{"priority": [0, 99]}', events[0].pk],
        )
    with pytest.raises(CommandError, match=MSG_ALTERED.format(id=events[0].pk)):
        run_command()


def test_a_row_deleted_with_sql_is_reported(
    events: list[AuditEvent], capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1, naming the event after the gap and the one before it."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_auditevent WHERE id = %s", [events[2].pk])
    expected = MSG_BROKEN_LINK.format(
        id=events[3].pk,
        prev_hash=events[3].prev_hash,
        before_id=events[1].pk,
        before_hash=events[1].hash,
    )
    with pytest.raises(CommandError) as raised:
        run_command()
    assert str(raised.value) == expected
    assert exit_code() == 1
    assert expected in capsys.readouterr().err


def test_a_rewritten_row_with_a_recomputed_hash_is_reported(
    events: list[AuditEvent],
) -> None:
    """Forging an event's hash as well is caught at the next event's link."""
    forged = events[1]
    forged.actor_repr = "mallory"
    forged_hash = event_digest(
        at=forged.at,
        actor_repr=forged.actor_repr,
        action=forged.action,
        target_type=forged.target_type,
        target_id=forged.target_id,
        target_repr=forged.target_repr,
        changes=forged.changes,
        ip=forged.ip,
        prev_hash=forged.prev_hash,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_auditevent SET actor_repr = %s, hash = %s WHERE id = %s",
            ["mallory", forged_hash, forged.pk],
        )
    with pytest.raises(CommandError, match=f"Event #{events[2].pk}: its previous"):
        run_command()
