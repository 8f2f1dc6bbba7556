"""Run artifacts: collect what a run left in its folder, serve it, expire it.

After a run's process ends, `run_artifacts_collect` walks the run's
JOB_ARTIFACTS_DIR (`execution.run_artifacts_dir`): every regular file is
hashed, stored through the "artifacts" storage (`jobs.storage`) and recorded
as a `RunArtifact` (name, size, sha256); then the folder is removed. Only
regular files inside the folder count: symlinks (to files or folders,
inside or out) are skipped and never followed, and names are the files'
relative paths, so nothing outside the folder can be read or written.

More than JOB_PORTAL_ARTIFACTS_MAX_BYTES in total stores nothing of the
run's files and fails a run that otherwise succeeded with reason code
`artifacts_too_large`; the folder is removed either way, so one run cannot
fill the disk for the next ones.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath

from django.core.files import File
from django.db.models import QuerySet

from jobs import conf, reasons
from jobs.models import JobRun, RunArtifact
from jobs.policies import SUCCEEDED, Outcome
from jobs.services.execution import run_artifacts_dir
from jobs.storage import artifact_storage

logger = logging.getLogger(__name__)

MSG_TOO_LARGE = (
    "The run left {size} bytes of artifacts, more than the limit of {limit} "
    "(JOB_PORTAL_ARTIFACTS_MAX_BYTES); none were kept."
)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Collected:
    """What collection found: files kept, their bytes, whether over the limit."""

    count: int = 0
    size: int = 0
    is_too_large: bool = False


def run_artifacts_finish(*, run: JobRun, outcome: Outcome, now: datetime) -> Outcome:
    """Collect the run's artifacts; return `outcome`, failed if they are too large.

    The worker calls this once after a run's process ends, before recording
    it. Never raises for a problem with the files: an unreadable file is
    left out and logged.
    """
    collected = run_artifacts_collect(run=run, now=now)
    if not collected.is_too_large:
        return outcome
    reason = MSG_TOO_LARGE.format(size=collected.size, limit=conf.artifacts_max_bytes())
    if outcome.status != SUCCEEDED:
        return outcome
    return replace(
        outcome,
        status="failed",
        reason=reason,
        reason_code=reasons.ARTIFACTS_TOO_LARGE,
    )


def run_artifacts_collect(*, run: JobRun, now: datetime) -> Collected:
    """Store and record the regular files in the run's folder, then remove it."""
    folder = run_artifacts_dir(run=run)
    try:
        files = list(_regular_files(folder))
        size = sum(file_size for _, _, file_size in files)
        if size > conf.artifacts_max_bytes():
            logger.warning("Run %s left %s bytes of artifacts: too many", run.pk, size)
            return Collected(len(files), size, is_too_large=True)
        kept = [_store(run, name, path, now=now) for name, path, _ in files]
        return Collected(sum(1 for k in kept if k), size)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _regular_files(folder: Path) -> list[tuple[str, Path, int]]:
    """Return (name, path, size) of each regular file under `folder`."""
    found = []
    # followlinks=False: a symlinked folder is listed but not entered.
    for root, _dirs, names in os.walk(folder, followlinks=False):
        for name in names:
            path = Path(root) / name
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                continue  # symlinks, FIFOs, sockets and devices are skipped
            relative = PurePosixPath(path.relative_to(folder).as_posix())
            found.append((str(relative), path, info.st_size))
    return sorted(found)


def _store(run: JobRun, name: str, path: Path, *, now: datetime) -> bool:
    """Hash and store one file; record it. Return False if it was unreadable."""
    digest = hashlib.sha256()
    try:
        # O_NOFOLLOW: a file swapped for a symlink since the walk is refused.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        logger.warning("Run %s: artifact %s unreadable: %s", run.pk, name, exc)
        return False
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
        size = handle.tell()
        handle.seek(0)
        stored = artifact_storage().save(f"{run.pk}/{name}", File(handle))
    RunArtifact.objects.create(
        run=run,
        name=name,
        size=size,
        sha256=digest.hexdigest(),
        storage_name=stored,
        created_at=now,
    )
    return True


def artifacts_delete(artifacts: QuerySet[RunArtifact]) -> int:
    """Delete the artifacts' files and rows; return how many rows went."""
    storage = artifact_storage()
    for storage_name in artifacts.values_list("storage_name", flat=True):
        storage.delete(storage_name)
    return int(artifacts.delete()[1].get("jobs.RunArtifact", 0))


def artifacts_expired(*, now: datetime, days: int) -> QuerySet[RunArtifact]:
    """Return the artifacts older than `days` (none when 0), oldest first."""
    if days <= 0:
        return RunArtifact.objects.none()
    before = now - timedelta(days=days)
    return RunArtifact.objects.filter(created_at__lt=before).order_by("created_at")


def artifact_open(artifact: RunArtifact) -> File:
    """Return the stored file of `artifact`, open for reading (binary)."""
    return artifact_storage().open(artifact.storage_name, "rb")


def artifact_download_name(artifact: RunArtifact) -> str:
    """Return the file name a download offers: the artifact's last part."""
    return PurePosixPath(artifact.name).name
