"""The SMTP channel against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from outreach.channels.base import OutboundMessage, PermanentSendError, TransientSendError
from outreach.channels.smtp_email import SmtpEmailChannel
from tests.support.prism import free_port
from tests.support.smtp import SmtpServer, start_smtp_server

UNSUBSCRIBE = {
    "List-Unsubscribe": "<https://feedback.example.com/u/tok-abc>, "
                        "<mailto:unsubscribe@feedback.example.com?subject=tok-abc>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def channel_for(server: SmtpServer, **kw: object) -> SmtpEmailChannel:
    params: dict[str, object] = {"security": "none", "from_addr": "Acme Feedback <cx@acme.test>",
                                 "timeout": 5.0}
    params.update(kw)
    return SmtpEmailChannel(server.host, server.port, **params)  # type: ignore[arg-type]


def survey_email(**kw: object) -> OutboundMessage:
    params: dict[str, object] = {
        "channel": "email", "to": "Ana Lima <ana@example.com>",
        "subject": "How did we do? — 我们做得怎么样？",
        "body": "Rate us 0–10: https://feedback.example.com/s/tok-abc\nسپاس",
        "html": "<p>Rate us: <a href='https://feedback.example.com/s/tok-abc'>open</a> 谢谢</p>",
        "headers": UNSUBSCRIBE, "marker": "tok-abc", "idempotency_key": "invitation-42",
    }
    params.update(kw)
    return OutboundMessage(**params)  # type: ignore[arg-type]


def test_sends_multipart_with_unsubscribe_headers(smtp_server: SmtpServer) -> None:
    result = channel_for(smtp_server).send(survey_email())

    assert result.provider == "smtp"
    [mail] = smtp_server.messages
    assert mail.mail_from == "cx@acme.test"
    assert mail.rcpt_tos == ["ana@example.com"]
    msg = mail.message
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == "How did we do? — 我们做得怎么样？"
    assert msg["To"] == "Ana Lima <ana@example.com>"
    assert msg["From"] == "Acme Feedback <cx@acme.test>"
    assert msg["Message-ID"] == result.provider_id
    assert msg["List-Unsubscribe"] == UNSUBSCRIBE["List-Unsubscribe"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Date"]
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    assert "https://feedback.example.com/s/tok-abc" in text.get_content()
    assert "سپاس" in text.get_content()
    assert "谢谢" in html.get_content()


def test_text_only_when_no_html(smtp_server: SmtpServer) -> None:
    channel_for(smtp_server).send(survey_email(html=None))
    [mail] = smtp_server.messages
    assert mail.message.get_content_type() == "text/plain"


def test_message_id_is_deterministic_per_idempotency_key(smtp_server: SmtpServer) -> None:
    channel = channel_for(smtp_server)
    first = channel.send(survey_email())
    again = channel.send(survey_email())
    other = channel.send(survey_email(idempotency_key="invitation-43"))
    unkeyed = channel.send(survey_email(idempotency_key=None))

    assert first.provider_id == again.provider_id
    assert first.provider_id.endswith("@acme.test>")
    assert other.provider_id != first.provider_id
    assert unkeyed.provider_id not in (first.provider_id, other.provider_id)
    assert [m.message["Message-ID"] for m in smtp_server.messages] == [
        first.provider_id, again.provider_id, other.provider_id, unkeyed.provider_id]


@pytest.mark.parametrize(("where", "reply"), [
    ("reply_rcpt", "450 4.2.1 mailbox busy, try later"),
    ("reply_data", "451 4.3.0 local error in processing"),
    ("reply_mail", "421 4.7.0 too many connections"),
])
def test_4xx_is_transient(smtp_server: SmtpServer, where: str, reply: str) -> None:
    setattr(smtp_server, where, reply)
    with pytest.raises(TransientSendError) as info:
        channel_for(smtp_server).send(survey_email())
    assert info.value.code == int(reply[:3])
    assert smtp_server.messages == []


@pytest.mark.parametrize(("where", "reply", "kind"), [
    ("reply_rcpt", "550 5.1.1 no such user", "invalid_recipient"),
    ("reply_data", "554 5.7.1 message rejected as spam", "rejected"),
    ("reply_mail", "553 5.7.1 sender not allowed", "config"),
])
def test_5xx_is_permanent(smtp_server: SmtpServer, where: str, reply: str, kind: str) -> None:
    setattr(smtp_server, where, reply)
    with pytest.raises(PermanentSendError) as info:
        channel_for(smtp_server).send(survey_email())
    assert info.value.code == int(reply[:3])
    assert info.value.kind == kind
    assert smtp_server.messages == []


def test_connection_refused_is_transient() -> None:
    channel = SmtpEmailChannel("127.0.0.1", free_port(), security="none",
                               from_addr="cx@acme.test", timeout=2.0)
    with pytest.raises(TransientSendError) as info:
        channel.send(survey_email())
    assert not info.value.maybe_sent


def test_server_that_never_answers_times_out_as_transient() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the TCP connection but never sends a greeting
        channel = SmtpEmailChannel("127.0.0.1", listener.getsockname()[1], security="none",
                                   from_addr="cx@acme.test", timeout=0.5)
        with pytest.raises(TransientSendError):
            channel.send(survey_email())


def test_starttls_with_login(tmp_path: Path) -> None:
    with start_smtp_server(tmp_path, tls="starttls", credentials=("cx", "s3cret")) as server:
        channel = channel_for(server, security="starttls", username="cx", password="s3cret",
                              ssl_context=server.client_ssl_context())
        channel.send(survey_email())
        [mail] = server.messages
        assert mail.tls and mail.authenticated


def test_wrong_password_is_permanent_config_error(tmp_path: Path) -> None:
    with start_smtp_server(tmp_path, tls="starttls", credentials=("cx", "s3cret")) as server:
        channel = channel_for(server, security="starttls", username="cx", password="wrong",
                              ssl_context=server.client_ssl_context())
        with pytest.raises(PermanentSendError) as info:
            channel.send(survey_email())
        assert info.value.kind == "config"
        assert server.messages == []


def test_implicit_tls(tmp_path: Path) -> None:
    with start_smtp_server(tmp_path, tls="tls") as server:
        channel = channel_for(server, security="tls", ssl_context=server.client_ssl_context())
        channel.send(survey_email())
        [mail] = server.messages
        assert mail.tls


def test_untrusted_certificate_is_a_config_error(tmp_path: Path) -> None:
    with start_smtp_server(tmp_path, tls="tls") as server:
        channel = channel_for(server, security="tls")  # system trust store: self-signed fails
        with pytest.raises(PermanentSendError) as info:
            channel.send(survey_email())
        assert info.value.kind == "config"


def test_starttls_not_offered_is_a_config_error(smtp_server: SmtpServer) -> None:
    with pytest.raises(PermanentSendError) as info:
        channel_for(smtp_server, security="starttls").send(survey_email())
    assert info.value.kind == "config"


@pytest.mark.parametrize("to", ["", "a@x.test, b@y.test", "not an address", "x@"])
def test_bad_recipient_is_refused_before_connecting(to: str) -> None:
    channel = SmtpEmailChannel("127.0.0.1", free_port(), security="none", from_addr="cx@acme.test")
    with pytest.raises((PermanentSendError, ValueError)):
        channel.send(survey_email(to=to))


def test_build_refuses_sms_and_reserved_headers() -> None:
    channel = SmtpEmailChannel("localhost", from_addr="cx@acme.test")
    with pytest.raises(ValueError):
        channel.build(survey_email(channel="sms"))
    with pytest.raises(ValueError):
        survey_email(headers={"Subject": "spoofed"})
    with pytest.raises(ValueError):
        survey_email(headers={"X-Tag": "a\r\nBcc: victim@example.com"})


@pytest.mark.parametrize("kw", [
    {"security": "ssl"}, {"username": "u"}, {"from_addr": "a@x.test, b@x.test"}, {"host": ""},
])
def test_invalid_configuration_fails_at_construction(kw: dict[str, object]) -> None:
    params: dict[str, object] = {"host": "localhost", "from_addr": "cx@acme.test"}
    params.update(kw)
    with pytest.raises(ValueError):
        SmtpEmailChannel(**params)  # type: ignore[arg-type]
