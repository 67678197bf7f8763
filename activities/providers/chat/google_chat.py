"""Google Chat incoming webhooks: a formatted ``text``, threaded by incident (the thread
key is the workflow id; a reply falls back to a new thread when the space has none)."""

from __future__ import annotations

from typing import Any

from workflows.chat import ChatMessage

LOOK_ALIKE_STAR = "\u2217"
REPLY = {"messageReplyOption": "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"}


def inert(text: str) -> str:
    """Typed text that cannot mention (``<users/all>`` would notify the whole space) nor
    make a link: a zero-width space after each ``<`` keeps what it shows."""
    return text.replace("<", "<\u200b")


def bold(text: str) -> str:
    """Google Chat's ``*bold*`` has no escape: a typed ``*`` would end it early, and shows
    as the look-alike U+2217 instead."""
    return f"*{inert(text).replace('*', LOOK_ALIKE_STAR)}*"


def payload(message: ChatMessage, link: str) -> dict[str, Any]:
    lines = [bold(message.title)]
    lines += [f"{inert(k)} : {inert(v)}" for k, v in message.facts]
    if message.text:
        lines += ["", inert(message.text)]
    lines += ["", f"<{link}|{message.link_label}>"]
    return {"text": "\n".join(lines), "thread": {"threadKey": message.workflow_id}}
