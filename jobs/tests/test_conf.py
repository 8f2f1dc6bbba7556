"""jobs.conf: settings read at call time, the numbers' defaults stated once."""

from pathlib import Path
from typing import Any

import pytest

from jobs import conf
from jobs.script_files import script_dir_resolve, script_resolve
from jobs.script_paths import ScriptPathError


def test_accessors_read_the_settings_at_call_time(
    settings: Any, tmp_path: Path
) -> None:
    """A changed setting is seen by the next call: nothing is cached."""
    settings.JOB_PORTAL_SCRIPTS_DIR = str(tmp_path)
    settings.JOB_PORTAL_ALLOWED_EXTENSIONS = [".py"]
    settings.JOB_PORTAL_ARTIFACTS_DIR = str(tmp_path / "out")
    settings.JOB_PORTAL_TIMEZONE = "Europe/Paris"
    settings.JOB_PORTAL_REQUIRE_SCRIPT_APPROVAL = True
    settings.JOB_PORTAL_ENCRYPTION_KEY = "k1,k2"
    settings.JOB_PORTAL_WORKER_POLL_INTERVAL = 2.5
    settings.JOB_PORTAL_WORKER_MAX_CONCURRENT = 3
    settings.JOB_PORTAL_WORKER_JOB_TIMEOUT = 90
    settings.JOB_PORTAL_WORKER_LOST_AFTER = 20.0
    settings.JOB_PORTAL_WORKER_SHUTDOWN_GRACE = 0.0
    settings.JOB_PORTAL_RUN_EVENT_RETENTION_DAYS = 2
    assert (conf.scripts_dir(), conf.allowed_extensions()) == (tmp_path, (".py",))
    assert conf.artifacts_dir() == tmp_path / "out"
    assert conf.default_timezone() == "Europe/Paris"
    assert conf.require_script_approval() is True
    assert conf.encryption_keys() == "k1,k2"
    assert (conf.worker_poll_seconds(), conf.worker_max_concurrent()) == (2.5, 3)
    assert conf.worker_job_timeout_seconds() == 90
    assert conf.worker_lost_after_seconds() == 20.0
    # No grace at all is a choice, not a bad value.
    assert conf.worker_shutdown_grace_seconds() == 0.0
    assert conf.run_event_retention_days() == 2


@pytest.mark.parametrize(
    ("name", "accessor", "default"),
    [
        ("JOB_PORTAL_WORKER_POLL_INTERVAL", conf.worker_poll_seconds, 5.0),
        ("JOB_PORTAL_WORKER_MAX_CONCURRENT", conf.worker_max_concurrent, 4),
        ("JOB_PORTAL_WORKER_LOST_AFTER", conf.worker_lost_after_seconds, 60.0),
        ("JOB_PORTAL_WORKER_SHUTDOWN_GRACE", conf.worker_shutdown_grace_seconds, 30.0),
        ("JOB_PORTAL_RUN_EVENT_RETENTION_DAYS", conf.run_event_retention_days, 7),
    ],
)
def test_a_bad_number_falls_back_to_the_default_in_settings(
    settings: Any, name: str, accessor: Any, default: float
) -> None:
    """settings.py leaves a bad value as None; the default in settings.py is used."""
    assert settings.JOB_PORTAL_DEFAULTS[name] == default
    setattr(settings, name, None)
    assert accessor() == default


def test_a_bad_job_timeout_means_no_limit(settings: Any) -> None:
    """As before: a bad JOB_PORTAL_WORKER_JOB_TIMEOUT reads as no limit."""
    settings.JOB_PORTAL_WORKER_JOB_TIMEOUT = None
    assert conf.worker_job_timeout_seconds() is None


def test_script_resolve_follows_the_settings(scripts_dir: Path, settings: Any) -> None:
    """The one resolver uses the scripts folder and extensions of the moment."""
    assert script_resolve("ok.py") == (scripts_dir / "ok.py").resolve()
    assert script_dir_resolve("nested") == (scripts_dir / "nested").resolve()
    settings.JOB_PORTAL_ALLOWED_EXTENSIONS = [".sh"]
    with pytest.raises(ScriptPathError):
        script_resolve("ok.py")
