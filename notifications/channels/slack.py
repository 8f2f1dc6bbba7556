"""Slack: an incoming webhook, the message as Block Kit blocks."""

from __future__ import annotations

from typing import Any, ClassVar

from notifications.channels.base import Channel, Message, post_json

# Slack refuses a section text longer than 3000 characters.
SECTION_CHARS = 2900


def blocks(message: Message) -> dict[str, Any]:
    """Return the Slack payload: a header, the text and the facts."""
    facts = [
        {"type": "mrkdwn", "text": f"*{name}*\n{value}"}
        for name, value in _shown_facts(message)
    ]
    body: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": message.subject[:150]},
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": message.body[:SECTION_CHARS] or " "},
        },
    ]
    if facts:
        body.append({"type": "section", "fields": facts[:10]})
    return {"text": message.subject, "blocks": body}


def _shown_facts(message: Message) -> list[tuple[str, str]]:
    names = ("job", "status", "attempt", "exit_code", "duration_seconds")
    return [
        (name.replace("_", " "), str(message.facts[name]))
        for name in names
        if message.facts.get(name) not in (None, "")
    ]


class SlackChannel(Channel):
    """Post to a Slack incoming webhook."""

    kind: ClassVar[str] = "slack"
    label: ClassVar[str] = "Slack"
    required: ClassVar[tuple[str, ...]] = ("url",)
    secret_keys: ClassVar[tuple[str, ...]] = ("url",)

    def send(self, message: Message) -> int | None:
        """POST the blocks to the webhook URL."""
        return post_json(
            self.setting("url"), blocks(message), timeout_seconds=self.timeout_seconds
        )
