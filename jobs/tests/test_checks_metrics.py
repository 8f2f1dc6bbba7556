"""System checks jobs.E160-E161: /metrics access settings."""

from __future__ import annotations

from typing import Any

from jobs.checks import (
    METRICS_TOKEN_MIN_LENGTH,
    MSG_METRICS_BEARER_SHORT,
    MSG_METRICS_IP,
    check_metrics_access,
)


def test_good_settings_pass(settings: Any) -> None:
    """Addresses and networks of both families; a long token."""
    settings.JOB_PORTAL_METRICS_ALLOWED_IPS = ["10.0.0.5", "10.1.0.0/16", "::1"]
    settings.JOB_PORTAL_METRICS_TOKEN = "x" * METRICS_TOKEN_MIN_LENGTH
    assert check_metrics_access(None) == []


def test_a_bad_address_is_named(settings: Any) -> None:
    """jobs.E160 names the value."""
    settings.JOB_PORTAL_METRICS_ALLOWED_IPS = ["10.0.0.300"]
    settings.JOB_PORTAL_METRICS_TOKEN = ""
    [error] = check_metrics_access(None)
    assert (error.id, error.msg) == (
        "jobs.E160",
        MSG_METRICS_IP.format(value="10.0.0.300"),
    )


def test_a_short_token_is_refused(settings: Any) -> None:
    """jobs.E161: a guessable token is no protection."""
    settings.JOB_PORTAL_METRICS_ALLOWED_IPS = []
    settings.JOB_PORTAL_METRICS_TOKEN = "short"
    [error] = check_metrics_access(None)
    assert error.id == "jobs.E161"
    assert error.msg == MSG_METRICS_BEARER_SHORT.format(
        length=5, minimum=METRICS_TOKEN_MIN_LENGTH
    )
