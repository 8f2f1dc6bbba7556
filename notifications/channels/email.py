"""Email over SMTP through Django's SMTP email backend.

The server comes from the channel (host, port, username, password, TLS or
SSL, sender), each defaulting to ``JOB_PORTAL_SMTP_*`` (filled in by the
outbox service). An SMTP 5xx answer is permanent; a connection problem or a
4xx is retried.
"""

from __future__ import annotations

import smtplib
from typing import ClassVar

from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend

from notifications.channels.base import Channel, ChannelError, Message

MSG_NO_RECIPIENT = "The channel has no recipient ('to')."


class EmailChannel(Channel):
    """Send a plain-text mail to the channel's recipients."""

    kind: ClassVar[str] = "email"
    label: ClassVar[str] = "Email"
    required: ClassVar[tuple[str, ...]] = ("to",)
    secret_keys: ClassVar[tuple[str, ...]] = ("password",)

    def send(self, message: Message) -> int | None:
        """Send the mail; return None (SMTP has no single response code)."""
        recipients = self.recipients()
        backend = EmailBackend(
            host=str(self.config.get("host") or "localhost"),
            port=int(self.config.get("port") or 25),
            username=str(self.config.get("username") or ""),
            password=self.secrets.get("password", ""),
            use_tls=bool(self.config.get("use_tls")),
            use_ssl=bool(self.config.get("use_ssl")),
            timeout=self.timeout_seconds,
            fail_silently=False,
        )
        mail = EmailMessage(
            subject=message.subject.replace("\n", " ")[:200],
            body=message.body,
            from_email=str(self.config.get("from_email") or "jobportal@localhost"),
            to=recipients,
            headers={"X-JobPortal-Idempotency-Key": message.idempotency_key},
            connection=backend,
        )
        try:
            mail.send()
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise ChannelError(
                f"Recipients refused: {exc.recipients}",
                permanent=all(code >= 500 for code in codes),
                response_code=max(codes) if codes else None,
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise ChannelError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                permanent=exc.smtp_code >= 500,
                response_code=exc.smtp_code,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP: {exc}") from None
        return None

    def recipients(self) -> list[str]:
        """Return the recipients (a list, or a comma-separated string)."""
        value = self.config.get("to") or []
        if isinstance(value, str):
            value = value.split(",")
        found = [str(item).strip() for item in value if str(item).strip()]
        if not found:
            raise ChannelError(MSG_NO_RECIPIENT, permanent=True)
        return found
