"""Commands that print their own report keep a service's INFO lines quiet."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_info(logger_name: str) -> Iterator[None]:
    """Raise logger `logger_name` to WARNING for the block, then restore it.

    The command's own lines are the report; the service's INFO lines would
    print the same result a second time (warnings still show).
    """
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
