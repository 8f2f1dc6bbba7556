"""Where collected run artifacts are kept: Django's storage "artifacts".

`STORAGES["artifacts"]` names the backend (any Django storage, e.g. an S3
one); the default, `ArtifactStorage`, keeps files on the local disk under
JOB_PORTAL_ARTIFACTS_DIR/stored, read at call time so that tests and
operators can move it.
"""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage, Storage, storages

from jobs import conf

STORAGE_ALIAS = "artifacts"
# The collected files' folder inside JOB_PORTAL_ARTIFACTS_DIR; run folders
# are named by run id (digits), so the name never clashes.
STORED_FOLDER = "stored"


class ArtifactStorage(FileSystemStorage):
    """Local files under JOB_PORTAL_ARTIFACTS_DIR/stored (read at call time)."""

    @property
    def base_location(self) -> str:
        """Return the folder, from the setting as it is now."""
        return str(conf.artifacts_dir() / STORED_FOLDER)

    @property
    def location(self) -> str:
        """Return the folder's absolute path."""
        return str((conf.artifacts_dir() / STORED_FOLDER).resolve())


def artifact_storage() -> Storage:
    """Return the storage backend configured for artifacts."""
    return storages[STORAGE_ALIAS]
