"""The scripts directory as configured: the one settings-bound resolver.

`resolve_script` (jobs.script_paths) is pure and takes the directory; this
module binds it to ``jobs.conf``, below services and validators alike, so
that the admin, the API, the validators and the worker resolve a path the
same way.
"""

from pathlib import Path

from jobs import conf
from jobs.script_paths import resolve_script


def script_resolve(relative: str) -> Path:
    """Return the real path of script `relative`, or raise `ScriptPathError`."""
    return resolve_script(
        conf.scripts_dir(), relative, allowed_extensions=conf.allowed_extensions()
    )


def script_dir_resolve(relative: str) -> Path:
    """Return the real path of folder `relative` (a working directory), or raise."""
    return resolve_script(conf.scripts_dir(), relative, directory=True)
