"""Email over SMTP (any relay: Postfix, SES/SendGrid/Mailgun SMTP endpoints, …).

One connection per message: surveys go out a few at a time, and a fresh connection avoids
every stale-connection failure mode of a long-lived SMTP session.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from typing import Literal

from outreach.channels.base import (
    ChannelName,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "tls"]
Stage = Literal["connect", "tls", "login", "envelope", "data", "done"]


class SmtpEmailChannel:
    """`Channel` for email. Stateless between sends, so safe to share across threads."""

    name: ChannelName = "email"
    provider = "smtp"

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        from_addr: str,
        timeout: float = 15.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"unknown SMTP security {security!r}")
        if not host:
            raise ValueError("SMTP host is required")
        if bool(username) != bool(password):
            raise ValueError("SMTP username and password go together")
        addresses = getaddresses([from_addr])
        if len(addresses) != 1 or "@" not in addresses[0][1]:
            raise ValueError(f"SMTP from address {from_addr!r} is not one email address")
        self.host = host
        self.port = port
        self.security: Security = security
        self.username = username
        self.password = password
        self.from_addr = from_addr
        self.envelope_from = addresses[0][1]
        self.domain = self.envelope_from.rsplit("@", 1)[1]
        self.timeout = timeout
        # Default context verifies the server's certificate and host name; tests pass one that
        # trusts their self-signed certificate rather than turning verification off.
        self.ssl_context = ssl_context or ssl.create_default_context()
        # Given explicitly so smtplib does not call socket.getfqdn(), a DNS lookup that can hang.
        self.local_hostname = local_hostname or "localhost"

    def message_id(self, msg: OutboundMessage) -> str:
        """Deterministic for a given idempotency key: a retried send is recognisably the same."""
        if msg.idempotency_key:
            digest = hashlib.sha256(msg.idempotency_key.encode()).hexdigest()[:32]
            return f"<{digest}@{self.domain}>"
        return make_msgid(domain=self.domain)

    def build(self, msg: OutboundMessage) -> EmailMessage:
        """The MIME message: text/plain alone, or multipart/alternative text + HTML."""
        if msg.channel != "email":
            raise ValueError(f"SmtpEmailChannel cannot send a {msg.channel!r} message")
        email = EmailMessage()
        email["From"] = (str(Address(msg.sender_name, addr_spec=self.envelope_from))
                         if msg.sender_name else self.from_addr)
        email["To"] = _single_address(msg.to)
        email["Subject"] = msg.subject or ""
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = self.message_id(msg)
        for name, value in msg.headers.items():
            email[name] = value
        email.set_content(msg.body)
        if msg.html:
            email.add_alternative(msg.html, subtype="html")
        return email

    def send(self, msg: OutboundMessage) -> SendResult:
        email = self.build(msg)
        message_id = str(email["Message-ID"])
        stage: Stage = "connect"
        try:
            smtp = self._connect()
            try:
                if self.security == "starttls":
                    stage = "tls"
                    smtp.starttls(context=self.ssl_context)
                if self.username and self.password:
                    stage = "login"
                    smtp.login(self.username, self.password)
                stage = "envelope"
                # send_message raises SMTPRecipientsRefused when the one recipient is refused,
                # so a returned dict can only be empty here.
                smtp.send_message(email, from_addr=self.envelope_from,
                                  to_addrs=[email["To"].addresses[0].addr_spec])
                stage = "done"
            finally:
                # Not `with smtplib.SMTP(...)`: its __exit__ raises when QUIT is answered badly,
                # which would report an accepted message as failed (and so send it twice).
                _close_quietly(smtp)
        except smtplib.SMTPServerDisconnected as exc:
            # After DATA was transmitted the server may have queued the message before hanging
            # up; the deterministic Message-ID lets a receiver drop the duplicate of a retry.
            raise TransientSendError(f"SMTP server disconnected during {stage}: {exc}",
                                     maybe_sent=stage == "envelope") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _by_code(code, text, kind="invalid_recipient", what="recipient refused") from exc
        except smtplib.SMTPSenderRefused as exc:
            raise _by_code(exc.smtp_code, exc.smtp_error, kind="config",
                           what="sender refused") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise _by_code(exc.smtp_code, exc.smtp_error, kind="config",
                           what="authentication failed") from exc
        except smtplib.SMTPResponseException as exc:
            # SMTPDataError, SMTPHeloError, SMTPConnectError and plain replies to any command.
            raise _by_code(exc.smtp_code, exc.smtp_error, kind="rejected",
                           what=f"SMTP {stage} failed") from exc
        except ssl.SSLCertVerificationError as exc:
            # Not a passing network hiccup: the server's certificate does not match our trust.
            raise PermanentSendError(f"SMTP TLS certificate rejected: {exc}", kind="config") from exc
        except smtplib.SMTPException as exc:
            if stage in ("tls", "login"):
                # STARTTLS/AUTH not offered, no common AUTH mechanism: only a config change helps.
                raise PermanentSendError(f"SMTP {stage}: {exc}", kind="config") from exc
            raise TransientSendError(f"SMTP {stage}: {exc}", maybe_sent=stage == "envelope") from exc
        except OSError as exc:
            # Refused/reset connections, timeouts, DNS failures, TLS handshake errors.
            raise TransientSendError(f"SMTP {stage}: {type(exc).__name__}: {exc}",
                                     maybe_sent=stage == "envelope") from exc
        log.info("smtp relay %s accepted email %s", self.host, message_id)
        return SendResult(provider=self.provider, provider_id=message_id)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, local_hostname=self.local_hostname,
                                    timeout=self.timeout, context=self.ssl_context)
        return smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname,
                            timeout=self.timeout)


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _single_address(to: str) -> str:
    # Exactly one mailbox: a "To" that parses to several would silently widen the audience.
    addresses = getaddresses([to])
    if len(addresses) != 1 or "@" not in addresses[0][1]:
        raise PermanentSendError(f"not one email address: {to!r}", kind="invalid_recipient")
    name, addr = addresses[0]
    try:
        return str(Address(name, addr_spec=addr))
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise PermanentSendError(f"invalid email address {to!r}: {exc}",
                                 kind="invalid_recipient") from exc


def _by_code(
    code: int, text: bytes | str, *, kind: Literal["invalid_recipient", "rejected", "config"],
    what: str,
) -> TransientSendError | PermanentSendError:
    """SMTP reply classes: 4xx means "not now", 5xx means "not ever" (RFC 5321 §4.2.1)."""
    detail = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    reason = f"{what}: {code} {detail}".strip()
    if 400 <= code < 500:
        return TransientSendError(reason, code=code)
    if code < 0:  # smtplib uses -1 when the server's reply could not be read
        return TransientSendError(reason, code=code, maybe_sent=True)
    return PermanentSendError(reason, code, kind=kind)
