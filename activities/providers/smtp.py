"""Mail transport over SMTP (aiosmtplib): plain, STARTTLS or implicit TLS, optional auth.

A worker keeps a few connections open and reuses them (``connections`` at most, which also
bounds how many mails are handed over at once). A connection that the server closed, or that
sat idle too long, is replaced; a mail that fails on a reused connection is tried once more on
a fresh one before the failure is reported.
"""

from __future__ import annotations

import asyncio
import logging
import time
from email.message import EmailMessage
from typing import Literal, Protocol

import aiosmtplib
from pydantic import BaseModel, Field, SecretStr

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "tls"]

# Answers that are final for the message itself, whatever the stage (RFC 5321 §4.2.2:
# 552 exceeded storage allocation / message too big).
TOO_BIG = 552


class RecipientsRefused(Exception):
    """The server refused every recipient for good (5xx): retrying will not help."""


class MailRejected(Exception):
    """The server refused the message for good (a 5xx answer to its content): retrying the
    same mail will not help."""


class MailTransport(Protocol):
    """Hands a message to a mail server. Returns the recipients it refused, with reasons.

    Raises RecipientsRefused or MailRejected when the mail can never be delivered, OSError or
    TimeoutError when the server cannot be reached, and aiosmtplib.SMTPException for any
    other (temporary) refusal."""

    async def send(self, message: EmailMessage) -> dict[str, str]: ...


class SmtpConfig(BaseModel):
    host: str
    port: int
    security: Security = "none"
    ca_file: str | None = Field(
        default=None, description="CA certificates (PEM) to check the server's against"
    )
    username: str | None = None
    password: SecretStr | None = None
    timeout_seconds: float = 30.0
    connections: int = Field(default=4, ge=1, description="Connections kept open at most")
    idle_seconds: float = Field(
        default=60.0, gt=0, description="A connection unused this long is closed, not reused"
    )
    messages_per_connection: int = Field(
        default=100, ge=1, description="Mails sent on one connection before it is renewed"
    )


class _Connection:
    def __init__(self, smtp: aiosmtplib.SMTP) -> None:
        self.smtp = smtp
        self.sent = 0
        self.last_used = time.monotonic()

    def close(self) -> None:
        self.smtp.close()


class SmtpTransport:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._idle: list[_Connection] = []
        self._slots: asyncio.Semaphore | None = None
        self.opened = 0  # connections opened so far, for logs and tests

    async def send(self, message: EmailMessage) -> dict[str, str]:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.config.connections)
        async with self._slots:
            connection = self._reusable()
            if connection is not None:
                try:
                    return await self._send_on(connection, message)
                except (aiosmtplib.SMTPServerDisconnected, ConnectionError) as exc:
                    # The server dropped the kept connection: once more on a fresh one.
                    log.info("SMTP connection lost (%s); reconnecting", exc)
            return await self._send_on(await self._connect(), message)

    async def close(self) -> None:
        """Closes the kept connections (politely when the server is still there)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await connection.smtp.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                connection.close()

    def _reusable(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            fresh = now - connection.last_used < self.config.idle_seconds
            if fresh and connection.smtp.is_connected:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        cfg = self.config
        smtp = aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            use_tls=cfg.security == "tls",
            start_tls=True if cfg.security == "starttls" else False,
            cert_bundle=cfg.ca_file,
            username=cfg.username,
            password=cfg.password.get_secret_value() if cfg.password else None,
            timeout=cfg.timeout_seconds,
        )
        await smtp.connect()
        self.opened += 1
        return _Connection(smtp)

    async def _send_on(self, connection: _Connection, message: EmailMessage) -> dict[str, str]:
        """Sends on ``connection``, which goes back to the pool if it is still sound."""
        keep = False
        try:
            errors, _reply = await connection.smtp.send_message(message)
            keep = True
        except aiosmtplib.SMTPRecipientsRefused as exc:
            keep = True  # the envelope was reset: the connection serves the next mail
            reasons = {r.recipient: f"{r.code} {r.message}" for r in exc.recipients}
            if all(r.code >= 500 for r in exc.recipients):
                raise RecipientsRefused(f"every recipient was refused: {reasons}") from exc
            raise
        except aiosmtplib.SMTPResponseException as exc:
            keep = connection.smtp.is_connected and exc.code != 421  # 421: closing
            permanent = exc.code == TOO_BIG or (
                isinstance(exc, aiosmtplib.SMTPDataError) and exc.code >= 500
            )
            if permanent:
                raise MailRejected(f"{exc.code} {exc.message}") from exc
            raise
        finally:
            connection.sent += 1
            connection.last_used = time.monotonic()
            if keep and connection.sent < self.config.messages_per_connection:
                self._idle.append(connection)
            elif keep:
                await self._retire(connection)
            else:
                connection.close()
        return {addr: f"{code} {text}" for addr, (code, text) in errors.items()}

    async def _retire(self, connection: _Connection) -> None:
        try:
            await connection.smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            connection.close()
