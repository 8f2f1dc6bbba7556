"""Export and import of job templates (`exportjobs --templates`, `importjobs`).

A templates file is `{"templates": [<template document>, ...]}`, each
document as `template_document` writes it. An import upserts templates by
name, all or nothing, through `template_save`, so every change is a new
template version and an audit event.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.actors import Actor
from jobs.models import JobTemplate
from jobs.services.templates import (
    TEMPLATE_KEYS,
    template_apply,
    template_document,
    template_save,
)
from jobs.services.transfer import ImportResult, JobImportError

logger = logging.getLogger(__name__)

MSG_TEMPLATE_NAMED = 'Template "{name}"'
MSG_TEMPLATE_AT = "Template #{position}"
MSG_NOT_MAPPING = "must be a mapping (a template document)."
MSG_UNKNOWN_KEYS = "unknown key(s): {keys}; allowed: {allowed}."
MSG_DUPLICATE = "name: Used by more than one template in this import."


def templates_export() -> list[dict[str, Any]]:
    """Return every template as a document, by name."""
    return [template_document(t) for t in JobTemplate.objects.order_by("name")]


def templates_import(
    *,
    documents: Sequence[Any],
    now: datetime,
    actor: Actor = None,
    dry_run: bool,
) -> ImportResult:
    """Create or update one template per document, matched by name.

    All or nothing: raise `JobImportError` listing every invalid template
    (by name, else by position) with the field at fault; nothing is written
    then. With `dry_run`, validate and classify but write nothing.
    """
    result = ImportResult()
    with transaction.atomic():
        errors: list[str] = []
        seen: set[str] = set()
        for position, document in enumerate(documents, 1):
            label = _label(document, position)
            try:
                action = _import_one(document, seen=seen, now=now, actor=actor)
            except ValidationError as exc:
                errors.extend(f"{label}: {line}" for line in _lines(exc))
                continue
            getattr(result, action).append(str(document["name"]))
        if errors:
            raise JobImportError(errors)
        if dry_run:
            transaction.set_rollback(True)
    logger.info(
        "Imported templates%s: %d created, %d updated, %d unchanged",
        " (dry run)" if dry_run else "",
        len(result.created),
        len(result.updated),
        len(result.unchanged),
    )
    return result


def _import_one(document: Any, *, seen: set[str], now: datetime, actor: Actor) -> str:
    """Save one document's template; return "created", "updated" or "unchanged"."""
    if not isinstance(document, Mapping):
        raise ValidationError(MSG_NOT_MAPPING)
    unknown = sorted(str(key) for key in document if key not in TEMPLATE_KEYS)
    if unknown:
        raise ValidationError(
            MSG_UNKNOWN_KEYS.format(
                keys=", ".join(unknown), allowed=", ".join(TEMPLATE_KEYS)
            )
        )
    name = document.get("name")
    if name in seen:
        raise ValidationError(MSG_DUPLICATE)
    seen.add(str(name))
    template = JobTemplate.objects.filter(name=name).first()
    before = template_document(template) if template is not None else None
    template = template_apply(template or JobTemplate(), dict(document))
    # A savepoint: an invalid template leaves nothing behind, the others go on
    # being checked so that every error is reported at once.
    with transaction.atomic():
        template = template_save(template=template, now=now, actor=actor)
    if before is None:
        return "created"
    return "unchanged" if template_document(template) == before else "updated"


def _label(document: Any, position: int) -> str:
    if isinstance(document, Mapping):
        name = document.get("name")
        if isinstance(name, str) and name.strip():
            return MSG_TEMPLATE_NAMED.format(name=name)
    return MSG_TEMPLATE_AT.format(position=position)


def _lines(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [
            f"{field}: {message}"
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    return list(exc.messages)
