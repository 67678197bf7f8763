"""Slack incoming webhooks, with Block Kit: a header, the facts as fields, the text, and a
button to the incident. ``text`` is the fallback shown in notifications."""

from __future__ import annotations

from typing import Any

from workflows.chat import ChatMessage
from workflows.limits import clip

MAX_FIELDS = 10  # per section block
MAX_HEADER = 150


def escape(text: str) -> str:
    """Slack's mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(message: ChatMessage, link: str) -> dict[str, Any]:
    fields = [{"type": "mrkdwn", "text": f"*{escape(k)}*\n{escape(v)}"} for k, v in message.facts]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(message.title, MAX_HEADER)}}
    ]
    for start in range(0, len(fields), MAX_FIELDS):
        blocks.append({"type": "section", "fields": fields[start : start + MAX_FIELDS]})
    if message.text:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape(message.text)}})
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": message.link_label},
                    "url": link,
                }
            ],
        }
    )
    return {
        "text": f"{escape(message.title)} <{link}|{escape(message.link_label)}>",
        "blocks": blocks,
    }
