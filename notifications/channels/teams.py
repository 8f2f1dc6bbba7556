"""Microsoft Teams: an incoming webhook carrying an Adaptive Card."""

from __future__ import annotations

from typing import Any, ClassVar

from notifications.channels.base import Channel, Message, post_json

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def card(message: Message) -> dict[str, Any]:
    """Return the Teams payload: one Adaptive Card with title, text, facts."""
    facts = [
        {"title": name, "value": str(message.facts[name])}
        for name in ("job", "status", "attempt", "exit_code", "duration_seconds")
        if message.facts.get(name) not in (None, "")
    ]
    content = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": message.subject,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": message.body, "wrap": True},
            {"type": "FactSet", "facts": facts},
        ],
    }
    url = message.facts.get("admin_url")
    if url:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Open", "url": url}]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": content,
            }
        ],
    }


class TeamsChannel(Channel):
    """Post to a Teams incoming webhook (or a Workflows webhook)."""

    kind: ClassVar[str] = "teams"
    label: ClassVar[str] = "Microsoft Teams"
    required: ClassVar[tuple[str, ...]] = ("url",)
    secret_keys: ClassVar[tuple[str, ...]] = ("url",)

    def send(self, message: Message) -> int | None:
        """POST the card to the webhook URL."""
        return post_json(
            self.setting("url"), card(message), timeout_seconds=self.timeout_seconds
        )
