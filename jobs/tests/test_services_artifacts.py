"""Run artifacts: collected after the run, size-limited, served to who may see."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.roles import EDITOR, VIEWER
from jobs import reasons
from jobs.models import Job, JobRun, RunArtifact
from jobs.retention import RetentionPolicy
from jobs.runner import MSG_ARTIFACTS_OVER
from jobs.services.artifacts import MSG_TOO_LARGE
from jobs.services.retention import retention_apply
from jobs.services.runs import job_run_now
from jobs.storage import artifact_storage
from jobs.tests.conftest import FakeClock
from jobs.worker import WorkerLoop

pytestmark = pytest.mark.django_db

# Writes two files (one nested), a symlink to a file outside its folder and
# a symlink to the folder above.
WRITER = (
    "import os, pathlib\n"
    "d = pathlib.Path(os.environ['JOB_ARTIFACTS_DIR'])\n"
    "(d / 'report.csv').write_text('a,b\\n1,2\\n')\n"
    "(d / 'sub').mkdir()\n"
    "(d / 'sub' / 'data.bin').write_bytes(b'\\x00' * 1000)\n"
    "os.symlink('/etc/passwd', d / 'passwd')\n"
    "os.symlink('..', d / 'up')\n"
)


@pytest.fixture
def writer(worker_scripts: Path) -> str:
    """Add the artifact-writing script; return its name."""
    (worker_scripts / "writer.py").write_text(WRITER)
    return "writer.py"


def execute(loop: WorkerLoop, job: Job, now: datetime) -> JobRun:
    """Queue, claim and execute one run of `job`; return it refreshed."""
    run = job_run_now(job=job, requested_by=None, now=now)
    [claimed] = loop.claim_runs(1)
    loop.execute_run(claimed)
    run.refresh_from_db()
    return run


def test_regular_files_are_recorded_and_symlinks_skipped(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    writer: str,
    artifacts_dir: Path,
) -> None:
    """Two files with size and sha256; the links are not followed; folder gone."""
    run = execute(loop, make_job(script=writer), now)
    assert run.status == JobRun.Status.SUCCEEDED
    stored = list(run.artifacts.values_list("name", "size", "sha256"))
    assert stored == [
        ("report.csv", 8, hashlib.sha256(b"a,b\n1,2\n").hexdigest()),
        ("sub/data.bin", 1000, hashlib.sha256(b"\x00" * 1000).hexdigest()),
    ]
    assert not (artifacts_dir / str(run.pk)).exists()
    artifact = run.artifacts.get(name="report.csv")
    with artifact_storage().open(artifact.storage_name, "rb") as handle:
        assert handle.read() == b"a,b\n1,2\n"


def test_artifacts_over_the_limit_fail_the_run_and_keep_nothing(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    writer: str,
    artifacts_dir: Path,
    settings: object,
) -> None:
    """1008 bytes against a 1000-byte limit: failed, artifacts_too_large."""
    settings.JOB_PORTAL_ARTIFACTS_MAX_BYTES = 1000  # type: ignore[attr-defined]
    run = execute(loop, make_job(script=writer), now)
    assert (run.status, run.reason_code) == (
        JobRun.Status.FAILED,
        reasons.ARTIFACTS_TOO_LARGE,
    )
    # Found at the end, or, should a check fall in the moment between the
    # last write and the exit, while the script ran.
    assert run.reason in (
        MSG_TOO_LARGE.format(size=1008, limit=1000),
        MSG_ARTIFACTS_OVER.format(size=1008, limit=1000),
    )
    assert not run.artifacts.exists()
    assert not (artifacts_dir / str(run.pk)).exists()


# Writes 64 KiB every 5 ms into JOB_ARTIFACTS_DIR for 30 s unless ended.
FILLER = (
    "import os, pathlib, time\n"
    "d = pathlib.Path(os.environ['JOB_ARTIFACTS_DIR'])\n"
    "print('filling', flush=True)\n"
    "deadline = time.monotonic() + 30\n"
    "with open(d / 'big.bin', 'wb') as out:\n"
    "    while time.monotonic() < deadline:\n"
    "        out.write(b'x' * 65536)\n"
    "        out.flush()\n"
    "        time.sleep(0.005)\n"
)


def test_a_script_filling_its_folder_is_ended_while_it_writes(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    worker_scripts: Path,
    artifacts_dir: Path,
    settings: object,
) -> None:
    """Past 1 MiB the run ends within seconds, not after its 30 s: too large."""
    settings.JOB_PORTAL_ARTIFACTS_MAX_BYTES = 2**20  # type: ignore[attr-defined]
    (worker_scripts / "filler.py").write_text(FILLER)
    started = time.monotonic()
    run = execute(loop, make_job(script="filler.py"), now)
    assert time.monotonic() - started < 10
    assert (run.status, run.reason_code, run.attempt) == (
        JobRun.Status.FAILED,
        reasons.ARTIFACTS_TOO_LARGE,
        1,
    )
    assert run.reason.startswith(
        "The artifacts folder passed the limit of 1048576 bytes "
        "(JOB_PORTAL_ARTIFACTS_MAX_BYTES) while the script ran: "
    )
    assert run.output == f"filling\n\n[portal] {run.reason}\n"
    assert not run.artifacts.exists()
    assert not (artifacts_dir / str(run.pk)).exists()
    assert not JobRun.objects.filter(job=run.job, attempt=2).exists()


def test_retention_deletes_artifact_files_with_their_rows(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    writer: str,
    settings: object,
) -> None:
    """Past JOB_PORTAL_ARTIFACT_RETENTION_DAYS the files and rows go, the run stays."""
    settings.JOB_PORTAL_ARTIFACT_RETENTION_DAYS = 7  # type: ignore[attr-defined]
    run = execute(loop, make_job(script=writer), now)
    names = list(run.artifacts.values_list("storage_name", flat=True))
    policy = RetentionPolicy(days=0, runs=0, output_days=0)
    done = retention_apply(now=now + timedelta(days=8), policy=policy)
    assert done.artifacts_deleted == 2
    assert not RunArtifact.objects.exists()
    assert JobRun.objects.filter(pk=run.pk).exists()
    assert not any(artifact_storage().exists(name) for name in names)


# --- the API ------------------------------------------------------------------


def test_the_api_lists_and_downloads_for_who_may_see_the_run(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    writer: str,
    make_user: Callable[..., User],
) -> None:
    """A Viewer sees every run: list, then the file as an attachment."""
    run = execute(loop, make_job(script=writer), now)
    client = APIClient()
    client.force_authenticate(make_user("vera", VIEWER))
    listed = client.get(f"/api/logs/{run.pk}/artifacts").json()
    assert [(a["name"], a["size"]) for a in listed] == [
        ("report.csv", 8),
        ("sub/data.bin", 1000),
    ]
    response = client.get(f"/api/logs/{run.pk}/artifacts/{listed[0]['id']}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"a,b\n1,2\n"  # type: ignore[attr-defined]
    assert 'filename="report.csv"' in response["Content-Disposition"]


def test_a_run_one_may_not_see_hides_its_artifacts(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    writer: str,
    make_user: Callable[..., User],
    roles: object,
) -> None:
    """An Editor without rights on the job gets 404 for list and file."""
    run = execute(loop, make_job(script=writer), now)
    artifact = run.artifacts.first()
    assert artifact is not None
    client = APIClient()
    editor = make_user("eddie", EDITOR)
    # The Editor role sees all jobs; take that away to model a stranger.
    editor.groups.clear()
    client.force_authenticate(editor)
    assert client.get(f"/api/logs/{run.pk}/artifacts").status_code == 404
    url = f"/api/logs/{run.pk}/artifacts/{artifact.pk}"
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "tail",
    ["..%2F..%2Fetc%2Fpasswd", "../../etc/passwd", "%2Fetc%2Fpasswd", "99999", "x"],
)
def test_traversal_attempts_are_404(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    writer: str,
    make_user: Callable[..., User],
    tail: str,
) -> None:
    """Only recorded artifact ids name a file; anything else is a 404."""
    run = execute(loop, make_job(script=writer), now)
    client = APIClient()
    client.force_authenticate(make_user("vera", VIEWER))
    response = client.get(f"/api/logs/{run.pk}/artifacts/{tail}")
    assert response.status_code == 404


def test_an_artifact_of_another_run_is_404(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    clock: FakeClock,
    now: datetime,
    writer: str,
    make_user: Callable[..., User],
) -> None:
    """The artifact must belong to the run in the path."""
    job = make_job(script=writer)
    first = execute(loop, job, now)
    clock.now = now + timedelta(seconds=1)
    second = execute(loop, job, clock.now)
    artifact = first.artifacts.first()
    assert artifact is not None
    client = APIClient()
    client.force_authenticate(make_user("vera", VIEWER))
    url = f"/api/logs/{second.pk}/artifacts/{artifact.pk}"
    assert client.get(url).status_code == 404


# --- the admin ----------------------------------------------------------------


def test_the_run_page_lists_artifacts_and_downloads_them(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    writer: str,
    make_user: Callable[..., User],
) -> None:
    """Links on the run page; the link sends the file."""
    run = execute(loop, make_job(script=writer), now)
    artifact = run.artifacts.get(name="report.csv")
    client = Client()
    client.force_login(make_user("vera", VIEWER))
    page = client.get(reverse("admin:jobs_jobrun_change", args=[run.pk]))
    url = reverse("admin:jobs_jobrun_artifact", args=[run.pk, artifact.pk])
    assert f'<a href="{url}">report.csv</a>' in page.content.decode()
    response = client.get(url)
    assert b"".join(response.streaming_content) == b"a,b\n1,2\n"  # type: ignore[attr-defined]


def test_the_admin_download_hides_runs_one_may_not_see(
    make_job: Callable[..., Job],
    loop: WorkerLoop,
    now: datetime,
    writer: str,
    make_user: Callable[..., User],
) -> None:
    """A staff user without any role gets a 404."""
    run = execute(loop, make_job(script=writer), now)
    artifact = run.artifacts.get(name="report.csv")
    client = Client()
    client.force_login(make_user("nobody"))
    url = reverse("admin:jobs_jobrun_artifact", args=[run.pk, artifact.pk])
    assert client.get(url).status_code == 404
