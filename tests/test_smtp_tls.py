"""Mail over TLS, as README's VIGIE_SMTP_SECURITY and VIGIE_SMTP_CA_FILE say: STARTTLS and
implicit TLS against a real SMTP server (aiosmtpd) whose certificate a private CA signed
(trustme); the certificate is checked, and one that does not check out sends nothing."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller

from activities.providers.smtp import SmtpConfig, SmtpTransport
from tests.conftest import free_port
from workers.settings import Settings
from workers.worker import smtp_transport


class Keep:
    def __init__(self) -> None:
        self.mails: list[tuple[bytes, bool]] = []  # the mail, and whether it came over TLS

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        secure = server.transport.get_extra_info("ssl_object") is not None
        self.mails.append((envelope.content, secure))
        return "250 OK"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def served(handler: Keep, **tls: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **tls)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def starttls_port(server_context: ssl.SSLContext, keep: Keep) -> Iterator[int]:
    yield from served(keep, tls_context=server_context, require_starttls=True)


@pytest.fixture
def tls_port(server_context: ssl.SSLContext, keep: Keep) -> Iterator[int]:
    yield from served(keep, ssl_context=server_context)


@pytest.fixture
def keep() -> Keep:
    return Keep()


def mail(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        "vigie@example.com",
        "im@example.com",
        subject,
    )
    message.set_content("body")
    return message


async def test_starttls_with_the_private_ca_from_the_settings(
    starttls_port: int, keep: Keep, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIE_SMTP_CA_FILE", str(ca_file))
    settings = Settings(smtp_host="localhost", smtp_port=starttls_port, smtp_security="starttls")
    transport = smtp_transport(settings)
    await transport.send(mail("over STARTTLS"))
    await transport.close()
    assert len(keep.mails) == 1 and keep.mails[0][1], keep.mails  # taken over TLS
    assert b"Subject: over STARTTLS" in keep.mails[0][0]


async def test_implicit_tls(tls_port: int, keep: Keep, ca_file: Path) -> None:
    config = SmtpConfig(host="localhost", port=tls_port, security="tls", ca_file=str(ca_file))
    transport = SmtpTransport(config)
    await transport.send(mail("over TLS"))
    await transport.close()
    assert [secure for _, secure in keep.mails] == [True]


async def test_a_certificate_that_does_not_check_out_sends_nothing(
    starttls_port: int, keep: Keep
) -> None:
    """Without the private CA, the server's certificate is not trusted: the send fails as an
    unreachable server does (an OSError: retried), and nothing went out in clear."""
    config = SmtpConfig(host="localhost", port=starttls_port, security="starttls")
    with pytest.raises(OSError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        await SmtpTransport(config).send(mail("not trusted"))
    assert keep.mails == []


def test_a_ca_file_that_does_not_exist_is_a_broken_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VIGIE_SMTP_CA_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="smtp_ca_file"):
        Settings()
