"""Fetch a secret's value from an external backend: Vault KV v2, AWS.

Pure: no Django. Values are fetched at run time for a script's
environment and never stored; errors name the reference and the backend,
never a value. ``jobs.services.secrets`` passes the settings in.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

VAULT = "vault"
AWS = "aws"
TIMEOUT_SECONDS = 10.0

MSG_VAULT_REFERENCE = (
    "A Vault reference is 'path#key', e.g. 'apps/billing#api_token'; got {value!r}."
)
MSG_AWS_REFERENCE = (
    "An AWS reference is 'secret-id' or 'secret-id#json-key'; got {value!r}."
)
MSG_NOT_CONFIGURED = "{setting} is not set."
MSG_VAULT_ADDR = (
    "JOB_PORTAL_VAULT_ADDR must be an http(s) address like "
    "'https://vault.example.com:8200'; got {value!r}."
)
MSG_HTTP = "Vault answered HTTP {status} for {reference!r}."
MSG_UNREACHABLE = "Vault at {addr} cannot be reached: {error}."
MSG_NO_KEY = "{reference!r} has no key {key!r}."
MSG_NOT_TEXT = "{reference!r} holds no text value."
MSG_NO_BOTO3 = "the boto3 package is not installed (pip install boto3)."
MSG_AWS = "AWS Secrets Manager refused {reference!r}: {error}."


class SecretBackendError(ValueError):
    """A backend could not give a secret's value; the message names no value."""


def split_reference(reference: str) -> tuple[str, str]:
    """Return (path or id, key) of a 'path#key' reference; key may be ''."""
    path, _, key = reference.strip().partition("#")
    return path.strip().strip("/"), key.strip()


def reference_problem(backend: str, reference: str) -> str | None:
    """Return what is wrong with `reference` for `backend`, or None."""
    path, key = split_reference(reference)
    if backend == VAULT and not (path and key):
        return MSG_VAULT_REFERENCE.format(value=reference)
    if backend == AWS and not path:
        return MSG_AWS_REFERENCE.format(value=reference)
    return None


def vault_fetch(
    *,
    addr: str,
    token: str,
    mount: str,
    reference: str,
    timeout_seconds: float = TIMEOUT_SECONDS,
) -> str:
    """Return the value at `reference` ('path#key') of a Vault KV v2 mount."""
    if not addr:
        raise SecretBackendError(
            MSG_NOT_CONFIGURED.format(setting="JOB_PORTAL_VAULT_ADDR")
        )
    if not addr.lower().startswith(("http://", "https://")):
        raise SecretBackendError(MSG_VAULT_ADDR.format(value=addr))
    path, key = split_reference(reference)
    url = (
        f"{addr.rstrip('/')}/v1/{urllib.parse.quote(mount.strip('/'))}/data/"
        f"{urllib.parse.quote(path)}"
    )
    # http(s) only: the address was checked above (and by check jobs.E211).
    request = urllib.request.Request(url, headers={"X-Vault-Token": token})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as answer:  # noqa: S310
            document: Any = json.loads(answer.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise SecretBackendError(
            MSG_HTTP.format(status=exc.code, reference=reference)
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SecretBackendError(
            MSG_UNREACHABLE.format(addr=addr, error=reason)
        ) from None
    except ValueError:
        raise SecretBackendError(MSG_NOT_TEXT.format(reference=reference)) from None
    data = document.get("data", {}) if isinstance(document, dict) else {}
    values = data.get("data") if isinstance(data, dict) else None
    return _pick(values, key=key, reference=reference)


def aws_fetch(*, region: str, endpoint_url: str, reference: str) -> str:
    """Return the value of an AWS Secrets Manager secret ('id' or 'id#json-key')."""
    try:
        # Only runs that use AWS need it (boto3 comes with moto in development).
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise SecretBackendError(MSG_NO_BOTO3) from None

    secret_id, key = split_reference(reference)
    try:
        client = boto3.client(
            "secretsmanager",
            region_name=region or None,
            endpoint_url=endpoint_url or None,
        )
        answer = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise SecretBackendError(
            MSG_AWS.format(reference=reference, error=code)
        ) from None
    except BotoCoreError as exc:
        raise SecretBackendError(
            MSG_AWS.format(reference=reference, error=type(exc).__name__)
        ) from None
    text = answer.get("SecretString")
    if not isinstance(text, str):
        raise SecretBackendError(MSG_NOT_TEXT.format(reference=reference))
    if not key:
        return text
    try:
        values = json.loads(text)
    except ValueError:
        raise SecretBackendError(
            MSG_NO_KEY.format(reference=reference, key=key)
        ) from None
    return _pick(values, key=key, reference=reference)


def _pick(values: object, *, key: str, reference: str) -> str:
    """Return `values[key]` as text; refuse a missing key or a non-text value."""
    if not isinstance(values, dict) or key not in values:
        raise SecretBackendError(MSG_NO_KEY.format(reference=reference, key=key))
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SecretBackendError(MSG_NOT_TEXT.format(reference=reference))
    return str(value)
