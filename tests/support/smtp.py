"""`smtp_server`: a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives.

Tests read `smtp_server.messages` (parsed `EmailMessage` + envelope) and can make the server
answer with an error at RCPT or DATA (`smtp_server.reply_rcpt = "550 5.1.1 no such user"`) to
exercise the channel's failure mapping. `start_smtp_server(...)` builds variants with STARTTLS,
implicit TLS and AUTH for the few tests that need them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.prism import free_port


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    tls: bool
    authenticated: bool


@dataclass
class RecordingHandler:
    """aiosmtpd handler: stores each accepted message; optional canned error replies."""

    messages: list[ReceivedMail] = field(default_factory=list)
    reply_mail: str | None = None
    reply_rcpt: str | None = None
    reply_data: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        if self.reply_mail:
            return self.reply_mail
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.reply_rcpt:
            return self.reply_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply_data:
            return self.reply_data
        raw = bytes(envelope.original_content or b"")
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(ReceivedMail(
                mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), message=message,
                raw=raw, tls=_over_tls(server, session), authenticated=bool(session.authenticated),
            ))
        return "250 2.0.0 OK queued"


def _over_tls(server: Any, session: Any) -> bool:
    # aiosmtpd fills session.ssl after STARTTLS only; implicit TLS shows on the transport.
    transport = getattr(server, "transport", None)
    return session.ssl is not None or (
        transport is not None and transport.get_extra_info("ssl_object") is not None)


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler
    cafile: Path | None = None  # the self-signed certificate, for the client's trust store

    @property
    def messages(self) -> list[ReceivedMail]:
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def reply_mail(self) -> str | None:
        return self.handler.reply_mail

    @reply_mail.setter
    def reply_mail(self, value: str | None) -> None:
        self.handler.reply_mail = value

    @property
    def reply_rcpt(self) -> str | None:
        return self.handler.reply_rcpt

    @reply_rcpt.setter
    def reply_rcpt(self, value: str | None) -> None:
        self.handler.reply_rcpt = value

    @property
    def reply_data(self) -> str | None:
        return self.handler.reply_data

    @reply_data.setter
    def reply_data(self, value: str | None) -> None:
        self.handler.reply_data = value

    def client_ssl_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this server's self-signed certificate."""
        assert self.cafile is not None, "server was started without TLS"
        return ssl.create_default_context(cafile=str(self.cafile))


def make_self_signed_cert(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """(certificate, key) PEM files for `host` (an IP address or a DNS name)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextmanager
def start_smtp_server(
    tmp_dir: Path | None = None,
    *,
    tls: str = "none",  # "none" | "starttls" | "tls" (implicit TLS, as on port 465)
    credentials: tuple[str, str] | None = None,
) -> Iterator[SmtpServer]:
    """Run an SMTP server on a free port of 127.0.0.1 for the duration of the block."""
    host = "127.0.0.1"
    handler = RecordingHandler()
    kwargs: dict[str, Any] = {}
    cafile = None
    if tls != "none":
        assert tmp_dir is not None, "TLS needs a directory for the certificate"
        cafile, keyfile = make_self_signed_cert(tmp_dir, host)
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(cafile, keyfile)
        if tls == "tls":
            kwargs["ssl_context"] = server_ctx
        else:
            kwargs["tls_context"] = server_ctx
            kwargs["require_starttls"] = True
    if credentials is not None:
        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                          auth_data: Any) -> AuthResult:
            ok = (isinstance(auth_data, LoginPassword)
                  and (auth_data.login.decode(), auth_data.password.decode()) == credentials)
            return AuthResult(success=ok, handled=False)

        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = tls != "none"
    controller = Controller(handler, hostname=host, port=free_port(), **kwargs)
    controller.start()
    try:
        yield SmtpServer(host=host, port=controller.port, handler=handler, cafile=cafile)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain (no TLS, no AUTH) SMTP server; fresh per test so canned errors never leak."""
    with start_smtp_server() as server:
        yield server
