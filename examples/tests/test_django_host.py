"""Example (a): a Django host project with the apps and a separate worker."""

import subprocess
import sys
from pathlib import Path

from examples.tests.hosts import REPO, host_project


def manage(host: Path, env: dict[str, str], *args: str) -> str:
    """Run the host's manage.py with the portal's apps from this checkout."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=host,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_host_creates_a_job_and_a_separate_worker_runs_it(
    tmp_path: Path,
) -> None:
    host, env = host_project(tmp_path)
    manage(host, env, "migrate", "--verbosity", "0")
    run_id = manage(host, env, "demo_job", "--who", "the test").strip()

    manage(host, env, "runworker", "--once", "--no-notifications")

    shown = manage(
        host,
        env,
        "shell",
        "--verbosity",
        "0",
        "--command",
        "from jobs.models import JobRun\n"
        f"run = JobRun.objects.get(pk={run_id})\n"
        "print(run.status, run.exit_code, run.output, sep='|')",
    )
    assert shown.strip() == "succeeded|0|hello from the host project, the test"
