"""Mattermost incoming webhooks: one Markdown ``text`` (a heading, the facts as a table,
the text, and the link)."""

from __future__ import annotations

import re
from typing import Any

from workflows.chat import ChatMessage

# An @ that starts a mention: not inside a word or an address (bob@example.com stays one).
_MENTION = re.compile(r"(?<![\w.+-])@")


def inert(text: str) -> str:
    """Typed text that cannot mention (``@channel`` would notify everyone: a zero-width space
    follows an @ that starts a word) nor make a link or an image (``[``, ``]`` and ``<``
    escaped)."""
    escaped = (
        text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
        .replace("<", "\\<")
    )  # fmt: skip
    return _MENTION.sub("@\u200b", escaped)


def _cell(text: str) -> str:
    return inert(text).replace("|", "\\|")


def payload(message: ChatMessage, link: str) -> dict[str, Any]:
    lines = [f"#### {inert(message.title)}", "", "| | |", "|:--|:--|"]
    lines += [f"| **{_cell(k)}** | {_cell(v)} |" for k, v in message.facts]
    if message.text:
        lines += ["", inert(message.text)]
    lines += ["", f"[{message.link_label}]({link})"]
    return {"text": "\n".join(lines)}
