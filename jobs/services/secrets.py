"""Writes to secrets: store values encrypted, give them to runs, rotate keys.

A value is encrypted with the first key of JOB_PORTAL_ENCRYPTION_KEY (see
`jobs.crypto`) before it reaches the database, and is decrypted only to be
put in a script's environment. No function here logs a value, and audit
events about secrets carry names only.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.actors import Actor
from accounts.models import AuditEvent
from accounts.services.audit import audit_record, audit_target
from jobs import conf, crypto, secret_backends
from jobs.errors import JobsError
from jobs.models import Job, Secret

logger = logging.getLogger(__name__)

MSG_VALUE_REQUIRED = "Enter the secret's value."
MSG_IN_USE = "Secret {name!r} is used by job(s) {jobs}; remove it from them first."
MSG_UNREADABLE = "Secret {name!r} cannot be decrypted: {error}"
MSG_BACKEND_UNREADABLE = "Secret {name!r} cannot be read from {backend}: {error}"
MSG_NO_VALUE_FOR_BACKEND = (
    "A secret kept in {backend} has no value here; leave the value empty."
)
# What the audit log says about a value: that it was set, never what.
VALUE_SET = "set"


class SecretInUseError(JobsError, ValueError):
    """The secret cannot be deleted while jobs use it."""


class SecretUnreadableError(JobsError, ValueError):
    """A secret's stored value cannot be decrypted with the configured keys."""


def encryption_keys() -> list[bytes]:
    """Return the configured keys, the encrypting one first.

    Raise `crypto.EncryptionKeyError` if the setting is missing or malformed.
    """
    return crypto.parse_keys(conf.encryption_keys())


@transaction.atomic
def secret_save(
    *,
    secret: Secret,
    value: str | None,
    actor: Actor = None,
    now: datetime,
    ip: str | None = None,
) -> Secret:
    """Validate and save `secret`, storing `value` encrypted if one is given.

    `value=None` keeps the stored value (for a change of name or
    description). A new secret needs a value. Raise `ValidationError` and
    write nothing when invalid, `crypto.EncryptionKeyError` without a key.
    """
    creating = secret.pk is None
    _check_value(secret, value)
    before = (
        None
        if creating
        else Secret.objects.filter(pk=secret.pk).values(*AUDITED).first()
    )
    if secret.backend != Secret.Backend.BUILTIN:
        # Fetched at run time, never stored: drop a value from before.
        secret.value_encrypted = ""
    elif value is not None:
        secret.value_encrypted = crypto.encrypt(value, keys=encryption_keys())
        secret.value_changed_at = now
    secret.full_clean()
    secret.save()
    changes: dict[str, list[object]] = {}
    for name in AUDITED:
        old = before[name] if before else None
        if old != getattr(secret, name):
            changes[name] = [old, getattr(secret, name)]
    if value is not None:
        changes["value"] = [None if creating else VALUE_SET, VALUE_SET]
    if changes:
        audit_record(
            actor=actor,
            action=AuditEvent.Action.CREATE if creating else AuditEvent.Action.UPDATE,
            target=secret,
            changes=changes,
            ip=ip,
            now=now,
        )
    logger.info("Secret %s %s", secret.name, "created" if creating else "updated")
    return secret


AUDITED = ("name", "description", "backend", "reference")


def _check_value(secret: Secret, value: str | None) -> None:
    """Require a value for a built-in secret without one; refuse one otherwise."""
    if secret.backend != Secret.Backend.BUILTIN:
        if value is not None:
            label = Secret.Backend(secret.backend).label
            raise ValidationError(
                {"value": [MSG_NO_VALUE_FOR_BACKEND.format(backend=label)]}
            )
        return
    if value is None and (secret.pk is None or not secret.value_encrypted):
        raise ValidationError({"value": [MSG_VALUE_REQUIRED]})


def secret_set_value(
    *, secret: Secret, value: str, actor: Actor = None, now: datetime
) -> Secret:
    """Store a new value for `secret`, encrypted."""
    return secret_save(secret=secret, value=value, actor=actor, now=now)


@transaction.atomic
def secret_delete(
    *, secret: Secret, actor: Actor = None, now: datetime, ip: str | None = None
) -> None:
    """Delete `secret`; raise `SecretInUseError` while a job uses it.

    A job whose secret silently vanished would run without a credential it
    expects, so the operator must take it off the jobs first.
    """
    users = list(secret.jobs.order_by("name").values_list("name", flat=True))
    if users:
        raise SecretInUseError(
            MSG_IN_USE.format(name=secret.name, jobs=", ".join(users))
        )
    target = audit_target(secret)
    secret.delete()
    audit_record(
        actor=actor,
        action=AuditEvent.Action.DELETE,
        target=target,
        changes={"name": [target.repr, None]},
        ip=ip,
        now=now,
    )


def secret_value(*, secret: Secret) -> str:
    """Return the decrypted value of `secret`, for a script's environment only.

    A secret kept in Vault or AWS is fetched now and never stored. Raise
    `SecretUnreadableError` if no configured key decrypts it or its backend
    cannot give it, or `crypto.EncryptionKeyError` without a usable key.
    """
    if secret.backend != Secret.Backend.BUILTIN:
        return _backend_value(secret)
    try:
        return crypto.decrypt(secret.value_encrypted, keys=encryption_keys())
    except crypto.DecryptionError as exc:
        raise SecretUnreadableError(
            MSG_UNREADABLE.format(name=secret.name, error=exc)
        ) from None


def _backend_value(secret: Secret) -> str:
    """Fetch `secret` from its backend; errors name the secret and backend."""
    try:
        if secret.backend == Secret.Backend.VAULT:
            vault = conf.vault_settings()
            return secret_backends.vault_fetch(
                addr=vault["addr"],
                token=vault["token"],
                mount=vault["mount"],
                reference=secret.reference,
            )
        aws = conf.aws_settings()
        return secret_backends.aws_fetch(
            region=aws["region"],
            endpoint_url=aws["endpoint_url"],
            reference=secret.reference,
        )
    except secret_backends.SecretBackendError as exc:
        label = Secret.Backend(secret.backend).label
        raise SecretUnreadableError(
            MSG_BACKEND_UNREADABLE.format(name=secret.name, backend=label, error=exc)
        ) from None


def job_secret_values(*, job: Job) -> dict[str, str]:
    """Return the job's secrets as {name: decrypted value}.

    Same errors as `secret_value`.
    """
    return {secret.name: secret_value(secret=secret) for secret in job.secrets.all()}


def secrets_rotate(*, now: datetime, actor: Actor = None) -> int:
    """Re-encrypt every secret with the first configured key; return how many.

    Run after putting a new key first in JOB_PORTAL_ENCRYPTION_KEY; the old
    key can be removed afterwards. All or nothing: a value no key decrypts
    stops the rotation with `SecretUnreadableError` and changes nothing.
    """
    keys = encryption_keys()
    count = 0
    with transaction.atomic():
        builtin = Secret.objects.filter(backend=Secret.Backend.BUILTIN)
        for secret in builtin.select_for_update().order_by("pk"):
            try:
                token = crypto.reencrypt(secret.value_encrypted, keys=keys)
            except crypto.DecryptionError as exc:
                raise SecretUnreadableError(
                    MSG_UNREADABLE.format(name=secret.name, error=exc)
                ) from None
            # update(): the value did not change, so neither do its dates.
            Secret.objects.filter(pk=secret.pk).update(value_encrypted=token)
            count += 1
        if count:
            audit_record(
                actor=actor,
                action=AuditEvent.Action.UPDATE,
                target=None,
                changes={"reencrypted": [None, count]},
                now=now,
            )
    logger.info("Re-encrypted %s secret(s) with the first key", count)
    return count
