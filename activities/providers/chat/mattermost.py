"""Mattermost incoming webhooks: one Markdown ``text`` (a heading, the facts as a table,
the text, and the link)."""

from __future__ import annotations

from typing import Any

from workflows.chat import ChatMessage


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def payload(message: ChatMessage, link: str) -> dict[str, Any]:
    lines = [f"#### {message.title}", "", "| | |", "|:--|:--|"]
    lines += [f"| **{_cell(k)}** | {_cell(v)} |" for k, v in message.facts]
    if message.text:
        lines += ["", message.text]
    lines += ["", f"[{message.link_label}]({link})"]
    return {"text": "\n".join(lines)}
