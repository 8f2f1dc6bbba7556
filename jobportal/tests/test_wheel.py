"""The built wheel carries the admin's templates and static files (issue 16).

Builds the wheel from a copy of the sources, installs it into a fresh
virtualenv (its dependencies come from this virtualenv's site-packages
through a .pth file, so nothing else is downloaded), and opens the admin's
job pages from the example host project (examples/django_host). Skipped
only when the wheel cannot be built because PyPI, where pip fetches the
build backend, cannot be reached.
"""

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from examples.tests.hosts import REPO, host_project

pytestmark = pytest.mark.wheel
SOURCES = (
    "pyproject.toml",
    "README.md",
    "jobportal",
    "jobs",
    "notifications",
    "accounts",
)
OFFLINE = ("No matching distribution", "Could not find a version", "NewConnectionError")
OPEN_PAGES = """
import json, django
django.setup()
from django.core.management import call_command
from django.test import Client
import jobs
call_command("migrate", verbosity=0)
call_command("demo_job", stdout=open("/dev/null", "w"))
from django.contrib.auth import get_user_model
from jobs.models import Job
client = Client()
client.force_login(get_user_model().objects.get(username="host-admin"))
job = Job.objects.get(name="greet")
pages = ["/admin/jobs/job/", "/admin/jobs/job/add/"]
pages.append(f"/admin/jobs/job/{job.pk}/change/")
status = {page: client.get(page).status_code for page in pages}
print(json.dumps({"jobs": jobs.__file__, "status": status}))
"""


def run(*argv: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its text, bounded in time."""
    return subprocess.run(  # type: ignore[call-overload]
        [str(arg) for arg in argv],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kwargs,
    )


def build_wheel(tmp_path: Path) -> Path:
    """Build the wheel from a clean copy of the sources; return its path."""
    source = tmp_path / "source"
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name,
                source / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        else:
            source.mkdir(exist_ok=True)
            shutil.copy(REPO / name, source / name)
    dist = tmp_path / "dist"
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
        "--disable-pip-version-check", source, "--wheel-dir", dist,
    )  # fmt: skip
    if built.returncode != 0 and any(word in built.stderr for word in OFFLINE):
        pytest.skip(f"cannot fetch the build backend: {built.stderr[-300:]}")
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("*.whl")
    return wheel


def install(wheel: Path, venv: Path) -> Path:
    """Install `wheel` alone into a new virtualenv; return its python."""
    created = run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    installed = run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
        "--quiet", "--disable-pip-version-check", wheel,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    purelib = run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    )
    # The dependencies (Django, DRF...) from this virtualenv, after the wheel.
    shared = sysconfig.get_paths()["purelib"]
    Path(purelib.stdout.strip(), "zz_dependencies.pth").write_text(shared + "\n")
    return python


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built once for this module's tests."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_holds_the_admin_templates_and_static_files(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "jobs/templates/admin/jobs/job/change_form.html" in names
    assert "jobs/static/jobs/admin.css" in names
    assert "jobportal/templates/rest_framework/api.html" in names


def test_the_installed_wheel_serves_the_admin_job_pages(
    wheel: Path, tmp_path: Path
) -> None:
    python = install(wheel, tmp_path / "venv")
    host, env = host_project(tmp_path)

    opened = run(python, "-c", OPEN_PAGES, cwd=host, env=env)

    assert opened.returncode == 0, opened.stderr
    result = json.loads(opened.stdout.strip().splitlines()[-1])
    assert result["jobs"].startswith(str(tmp_path / "venv"))
    assert set(result["status"].values()) == {200}, result["status"]
