"""A local SMTP sink (aiosmtpd) that keeps every mail, for the dev stack and the tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self._sink.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self._sink.peers.add(session.peer)
        if self._sink.answer is not None:
            reply = self._sink.answer(message, list(envelope.rcpt_tos))
            if reply is not None:
                return reply
        self._sink.keep(raw, message, list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class MailSink:
    """Accepts every mail on ``host:port``; keeps it in memory and, if asked, as a .eml file."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1025,
        directory: Path | None = None,
        on_mail: Callable[[EmailMessage, list[str]], None] | None = None,
        refuse: frozenset[str] = frozenset(),
        answer: Callable[[EmailMessage, list[str]], str | None] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.directory = directory
        self.on_mail = on_mail
        self.refuse = frozenset(a.lower() for a in refuse)  # answered 550, as a real server would
        # Answers a message otherwise than "250" when it returns a reply ("554 5.7.1 spam",
        # "451 4.3.0 try later"): that message is not kept.
        self.answer = answer
        self.peers: set[Any] = set()  # client (host, port) of each connection that sent a mail
        self.messages: list[EmailMessage] = []
        self._kept_before = _last_number(directory)  # a restart numbers on, overwriting nothing
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def keep(self, raw: bytes, message: EmailMessage, recipients: list[str]) -> None:
        with self._lock:
            self.messages.append(message)
            count = self._kept_before + len(self.messages)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / f"{count:05d}.eml").write_bytes(raw)
        if self.on_mail is not None:
            self.on_mail(message, recipients)

    def start(self) -> MailSink:
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def about(self, incident_id: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["X-Vigie-Incident"] == incident_id]


def summary(message: EmailMessage, recipients: list[str]) -> str:
    """One line per mail, as the dev stack prints it."""
    return f"mail → {', '.join(recipients)} | {message['Subject']}"


def _last_number(directory: Path | None) -> int:
    """The highest NNNNN of the NNNNN.eml files already in ``directory`` (0 if none)."""
    if directory is None or not directory.is_dir():
        return 0
    numbers = (int(p.stem) for p in directory.glob("*.eml") if p.stem.isdigit())
    return max(numbers, default=0)
