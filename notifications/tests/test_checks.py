"""System checks of the notification settings (jobs.E150, jobs.E151)."""

from __future__ import annotations

from typing import Any

from django.core.checks import run_checks

from jobs.checks import MSG_CIRCUIT_BREAKER, MSG_PUBLIC_URL


def ids_and_messages() -> list[tuple[str, str]]:
    return [
        (str(error.id), error.msg)
        for error in run_checks()
        if str(error.id) in ("jobs.E150", "jobs.E151")
    ]


def test_good_settings_pass(settings: Any) -> None:
    """The defaults raise nothing."""
    settings.JOB_PORTAL_CIRCUIT_BREAKER_AFTER = 0
    assert ids_and_messages() == []


def test_a_bad_breaker_count_and_url_are_named(settings: Any, monkeypatch: Any) -> None:
    """A value that is not a number, and an address without http(s)."""
    monkeypatch.setenv("JOB_PORTAL_CIRCUIT_BREAKER_AFTER", "three")
    settings.JOB_PORTAL_CIRCUIT_BREAKER_AFTER = None
    settings.JOB_PORTAL_PUBLIC_URL = "jobs.example.com"
    assert ids_and_messages() == [
        ("jobs.E150", MSG_CIRCUIT_BREAKER.format(value="three")),
        ("jobs.E151", MSG_PUBLIC_URL.format(value="jobs.example.com")),
    ]
