"""Mattermost incoming webhooks: one Markdown ``text`` (a heading, the facts as a table,
the text, and the link)."""

from __future__ import annotations

import re
from typing import Any

from workflows.chat import ChatMessage

# What Markdown reads as links, images, emphasis, code or raw HTML.
_MARKDOWN = re.compile(r"[\\\[\]<*_~`]")
# An @ that starts a mention: not inside a word or an address (bob@example.com stays one).
_MENTION = re.compile(r"(?<![\w.+-])@")


# A bare web address, captured: left whole (Mattermost links it, showing its own target),
# since an escape inside it would become part of the link.
_URL = re.compile(r"(https?://[^\s<>|\[\]]+)")


def inert(text: str) -> str:
    """Typed text shown as typed: it cannot mention (``@channel`` would notify everyone: a
    zero-width space follows an @ that starts a word), nor make a link, an image or emphasis
    (Markdown's characters are escaped, which shows them as they are). Bare web addresses
    stay whole."""
    parts = _URL.split(text)  # typed text and addresses in turn
    return "".join(
        part if n % 2 else _MENTION.sub("@\u200b", _MARKDOWN.sub(r"\\\g<0>", part))
        for n, part in enumerate(parts)
    )


def _cell(text: str) -> str:
    return inert(text).replace("|", "\\|")


def payload(message: ChatMessage, link: str) -> dict[str, Any]:
    lines = [f"#### {inert(message.title)}", "", "| | |", "|:--|:--|"]
    lines += [f"| **{_cell(k)}** | {_cell(v)} |" for k, v in message.facts]
    if message.text:
        lines += ["", inert(message.text)]
    lines += ["", f"[{message.link_label}]({link})"]
    return {"text": "\n".join(lines)}
