"""Channel kinds: kind -> class. A new channel is one module and one line."""

from __future__ import annotations

from notifications.channels.base import Channel
from notifications.channels.email import EmailChannel
from notifications.channels.slack import SlackChannel
from notifications.channels.teams import TeamsChannel
from notifications.channels.webhook import WebhookChannel

CHANNELS: dict[str, type[Channel]] = {
    EmailChannel.kind: EmailChannel,
    WebhookChannel.kind: WebhookChannel,
    SlackChannel.kind: SlackChannel,
    TeamsChannel.kind: TeamsChannel,
}
CHOICES = [(kind, cls.label) for kind, cls in CHANNELS.items()]
