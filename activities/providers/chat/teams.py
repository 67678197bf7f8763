"""Microsoft Teams through a Workflows webhook ("Send webhook alerts to a channel"), posting
an Adaptive Card. The retired Office 365 connectors (MessageCard) are not used."""

from __future__ import annotations

from typing import Any

from workflows.chat import ChatMessage

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
COLORS = {"attention": "Attention", "warning": "Warning", "good": "Good", "default": "Default"}


def inert(text: str) -> str:
    """Typed text that cannot make a Markdown link (a card's link shows its own label): a
    zero-width space between ``]`` and ``(`` keeps what it shows."""
    return text.replace("](", "]\u200b(")


def payload(message: ChatMessage, link: str) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": inert(message.title),
            "weight": "Bolder",
            "size": "Medium",
            "color": COLORS[message.severity],
            "wrap": True,
        },
        {
            "type": "FactSet",
            "facts": [{"title": k, "value": inert(v)} for k, v in message.facts],
        },
    ]
    if message.text:
        body.append({"type": "TextBlock", "text": inert(message.text), "wrap": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": message.link_label, "url": link}],
        "msteams": {"width": "Full"},
    }
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }
