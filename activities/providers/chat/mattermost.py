"""Mattermost incoming webhooks: one Markdown ``text`` (a heading, the facts as a table,
the text, and the link)."""

from __future__ import annotations

from typing import Any

from workflows.chat import ChatMessage


def inert(text: str) -> str:
    """Typed text that cannot mention (``@channel`` would notify everyone: a zero-width space
    follows each ``@``) nor make a link or an image (``[``, ``]`` and ``<`` escaped)."""
    return (
        text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
        .replace("<", "\\<").replace("@", "@\u200b")
    )  # fmt: skip


def _cell(text: str) -> str:
    return inert(text).replace("|", "\\|")


def payload(message: ChatMessage, link: str) -> dict[str, Any]:
    lines = [f"#### {inert(message.title)}", "", "| | |", "|:--|:--|"]
    lines += [f"| **{_cell(k)}** | {_cell(v)} |" for k, v in message.facts]
    if message.text:
        lines += ["", inert(message.text)]
    lines += ["", f"[{message.link_label}]({link})"]
    return {"text": "\n".join(lines)}
