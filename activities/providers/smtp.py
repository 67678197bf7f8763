"""Mail transport over SMTP (aiosmtplib): plain, STARTTLS or implicit TLS, optional auth."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Literal, Protocol

import aiosmtplib
from pydantic import BaseModel, SecretStr

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "tls"]


class RecipientsRefused(Exception):
    """The server refused every recipient for good (5xx): retrying will not help."""


class MailTransport(Protocol):
    """Hands a message to a mail server. Returns the recipients it refused, with reasons."""

    async def send(self, message: EmailMessage) -> dict[str, str]: ...


class SmtpConfig(BaseModel):
    host: str
    port: int
    security: Security = "none"
    username: str | None = None
    password: SecretStr | None = None
    timeout_seconds: float = 30.0


class SmtpTransport:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, message: EmailMessage) -> dict[str, str]:
        cfg = self.config
        try:
            errors, _reply = await aiosmtplib.send(
                message,
                hostname=cfg.host,
                port=cfg.port,
                use_tls=cfg.security == "tls",
                start_tls=True if cfg.security == "starttls" else False,
                username=cfg.username,
                password=cfg.password.get_secret_value() if cfg.password else None,
                timeout=cfg.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            reasons = {r.recipient: f"{r.code} {r.message}" for r in exc.recipients}
            if all(r.code >= 500 for r in exc.recipients):
                raise RecipientsRefused(f"every recipient was refused: {reasons}") from exc
            raise
        return {addr: f"{code} {text}" for addr, (code, text) in errors.items()}
