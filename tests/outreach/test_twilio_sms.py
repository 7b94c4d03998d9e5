"""The Twilio SMS channel: the real `twilio` client against Prism (Twilio's OpenAPI contract) and,
for behaviour Prism cannot produce (429/503, a controlled message history), a tiny local server
speaking the same JSON."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from outreach.channels.base import (
    OutboundMessage,
    PermanentSendError,
    Reconciler,
    TransientSendError,
)
from outreach.channels.twilio_sms import (
    BaseUrlHttpClient,
    TwilioSmsChannel,
    classify_twilio_error,
    parse_retry_after,
)
from tests.support.prism import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, free_port

CALLBACK = "https://feedback.example.com/webhooks/twilio/status"


def sms(**kw: Any) -> OutboundMessage:
    params: dict[str, Any] = {
        "channel": "sms", "to": "+14155550100",
        "body": "Acme: how likely are you to recommend us, 0-10? Reply or tap "
                "https://fb.example.com/s/tok-7f3a",
        "status_callback": CALLBACK, "marker": "tok-7f3a",
    }
    params.update(kw)
    return OutboundMessage(**params)


def channel(base_url: str, **kw: Any) -> TwilioSmsChannel:
    params: dict[str, Any] = {"from_number": "+14155552345", "base_url": base_url, "timeout": 5.0}
    params.update(kw)
    return TwilioSmsChannel(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, **params)


# --- against Prism: the real API contract -------------------------------------------------


def test_send_is_accepted_by_the_twilio_api_contract(prism_url: str) -> None:
    ch = channel(prism_url)
    result = ch.send(sms())
    assert result.provider == "twilio"
    assert result.provider_id.startswith("SM") and len(result.provider_id) == 34
    sent = ch.http._test_only_last_request
    assert sent is not None
    assert sent.url.startswith(prism_url + "/2010-04-01/Accounts/" + TEST_ACCOUNT_SID)
    assert sent.data["StatusCallback"] == CALLBACK
    assert sent.data["To"] == "+14155550100"
    ch.close()


def test_send_through_a_messaging_service(prism_url: str) -> None:
    ch = channel(prism_url, from_number=None, messaging_service_sid="MG" + "0" * 32)
    assert ch.send(sms()).provider_id.startswith("SM")
    sent = ch.http._test_only_last_request
    assert sent is not None and sent.data["MessagingServiceSid"] == "MG" + "0" * 32
    assert "From" not in sent.data


def test_request_rejected_by_validation_is_permanent(prism_url: str) -> None:
    # An account SID that breaks the spec's pattern: Prism answers 422, like a malformed request
    # would be refused by Twilio; retrying cannot help.
    ch = TwilioSmsChannel("ACnot-a-valid-sid", TEST_AUTH_TOKEN, from_number="+14155552345",
                          base_url=prism_url, timeout=5.0)
    with pytest.raises(PermanentSendError) as info:
        ch.send(sms())
    assert info.value.code == 422


def test_threads_sending_side_by_side_reuse_the_pooled_connections(prism_url: str) -> None:
    """The dispatcher shares one channel between its side-by-side threads: each thread's
    connection goes back to the pool and is used again, never opened anew per send (the
    client's own adapter kept fewer connections than there are threads)."""
    ch, threads = channel(prism_url), 16
    start = threading.Barrier(threads)

    def sends() -> None:
        start.wait(timeout=30)
        for _ in range(3):
            ch.send(sms())

    workers = [threading.Thread(target=sends) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=60)
    pool = ch.http.session.get_adapter(prism_url).poolmanager.connection_from_url(prism_url)
    assert pool.num_connections <= threads
    https = ch.http.session.get_adapter("https://api.twilio.com/")
    assert https._pool_maxsize >= 32  # FEEDBACK_DISPATCH_CONCURRENCY's maximum
    ch.close()


def test_find_sent_query_is_valid_against_the_contract(prism_url: str) -> None:
    # Prism answers with the spec's example page; none contains our marker.
    assert channel(prism_url).find_sent("+14155550100", datetime(2019, 1, 1, tzinfo=UTC),
                                        "tok-7f3a") is None


# --- against a local stand-in: rate limits, outages, history -------------------------------


@dataclass
class FakeTwilio:
    """Answers Messages.json like Twilio; `script` is a queue of (status, headers, body)."""

    url: str
    script: list[tuple[int, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)


def _message(sid: str, to: str, body: str, created: datetime, direction: str = "outbound-api",
             status: str = "queued") -> dict[str, Any]:
    return {"sid": sid, "account_sid": TEST_ACCOUNT_SID, "to": to, "from": "+14155552345",
            "body": body, "status": status, "direction": direction,
            "date_created": format_datetime(created, usegmt=True),
            "date_sent": None if status == "queued" else format_datetime(created, usegmt=True)}


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode()) if length else {}
            parts = urlsplit(self.path)
            fake.requests.append((self.command, parts.path, form or parse_qs(parts.query)))
            if fake.script:
                status, headers, body = fake.script.pop(0)
            elif self.command == "GET":
                status, headers = 200, {}
                body = {"messages": fake.history, "page": 0, "page_size": 50,
                        "next_page_uri": None, "uri": parts.path}
            else:
                status, headers = 201, {}
                body = _message("SM" + "f" * 32, form["To"][0], form["Body"][0], datetime.now(UTC))
            payload = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_status_callback_and_body_reach_twilio(fake_twilio: FakeTwilio) -> None:
    result = channel(fake_twilio.url).send(sms())
    assert result.provider_id == "SM" + "f" * 32
    [(method, path, form)] = fake_twilio.requests
    assert (method, path) == ("POST", f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages.json")
    assert form["StatusCallback"] == [CALLBACK]
    assert form["From"] == ["+14155552345"]
    assert "tok-7f3a" in form["Body"][0]


def test_channel_default_status_callback_is_used(fake_twilio: FakeTwilio) -> None:
    channel(fake_twilio.url, status_callback=CALLBACK + "?d=1").send(sms(status_callback=None))
    assert fake_twilio.requests[0][2]["StatusCallback"] == [CALLBACK + "?d=1"]


def test_an_sms_without_status_callback_is_a_programming_error(fake_twilio: FakeTwilio) -> None:
    with pytest.raises(ValueError):
        channel(fake_twilio.url).send(sms(status_callback=None))
    assert fake_twilio.requests == []


def test_429_is_transient_with_retry_after(fake_twilio: FakeTwilio) -> None:
    fake_twilio.script.append((429, {"Retry-After": "17"},
                               {"code": 20429, "message": "Too Many Requests", "status": 429}))
    with pytest.raises(TransientSendError) as info:
        channel(fake_twilio.url).send(sms())
    assert info.value.retry_after == 17.0
    assert info.value.code == 20429
    assert not info.value.maybe_sent


def test_503_is_transient(fake_twilio: FakeTwilio) -> None:
    fake_twilio.script.append((503, {}, {"message": "Service Unavailable", "status": 503}))
    with pytest.raises(TransientSendError) as info:
        channel(fake_twilio.url).send(sms())
    assert info.value.retry_after is None


@pytest.mark.parametrize(("code", "kind"), [
    (21211, "invalid_recipient"), (21614, "invalid_recipient"), (21610, "opted_out"),
    (21606, "config"), (21617, "rejected"),
])
def test_400_error_codes_are_permanent(fake_twilio: FakeTwilio, code: int, kind: str) -> None:
    fake_twilio.script.append((400, {}, {"code": code, "message": "nope", "status": 400}))
    with pytest.raises(PermanentSendError) as info:
        channel(fake_twilio.url).send(sms())
    assert (info.value.code, info.value.kind) == (code, kind)
    assert info.value.opted_out is (kind == "opted_out")


def test_bad_credentials_are_a_config_error(fake_twilio: FakeTwilio) -> None:
    fake_twilio.script.append((401, {}, {"code": 20003, "message": "Authenticate", "status": 401}))
    with pytest.raises(PermanentSendError) as info:
        channel(fake_twilio.url).send(sms())
    assert info.value.kind == "config"


def test_unreachable_api_is_transient_and_surely_unsent() -> None:
    with pytest.raises(TransientSendError) as info:
        channel(f"http://127.0.0.1:{free_port()}").send(sms())
    assert not info.value.maybe_sent


def test_read_timeout_is_transient_and_maybe_sent() -> None:
    import socket

    with socket.socket() as listener:  # accepts the connection, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        ch = channel(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.5)
        with pytest.raises(TransientSendError) as info:
            ch.send(sms())
        assert info.value.maybe_sent


def test_find_sent_returns_the_sid_of_the_matching_message(fake_twilio: FakeTwilio) -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    fake_twilio.history = [
        _message("SM" + "1" * 32, "+14155550100", "other survey tok-0000", now),
        _message("SM" + "2" * 32, "+14155550100", "reply 9 tok-7f3a", now, direction="inbound"),
        _message("SM" + "3" * 32, "+14155550100", "old survey tok-7f3a", now - timedelta(days=3)),
        _message("SM" + "4" * 32, "+14155550100", "survey https://fb/s/tok-7f3a", now),
    ]
    ch = channel(fake_twilio.url)
    since = now - timedelta(minutes=30)
    assert ch.find_sent("+14155550100", since, "tok-7f3a") == "SM" + "4" * 32
    assert ch.find_sent("+14155550100", since, "tok-none") is None
    method, _path, query = fake_twilio.requests[0]
    assert method == "GET" and query["To"] == ["+14155550100"]
    assert "DateSent>" not in query  # a still-queued message has no DateSent
    assert isinstance(ch, Reconciler)


def test_find_sent_errors_are_classified(fake_twilio: FakeTwilio) -> None:
    fake_twilio.script.append((503, {}, {"message": "down", "status": 503}))
    with pytest.raises(TransientSendError):
        channel(fake_twilio.url).find_sent("+14155550100", datetime.now(UTC), "tok")


# --- pieces ---------------------------------------------------------------------------------


def test_base_url_rewrite_keeps_path_and_query() -> None:
    http = BaseUrlHttpClient("http://127.0.0.1:4010/prefix/")
    assert (http.rewrite("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=%2B1")
            == "http://127.0.0.1:4010/prefix/2010-04-01/Accounts/AC1/Messages.json?To=%2B1")
    assert (http.rewrite("https://api.dublin.ie1.twilio.com/2010-04-01/x")
            == "http://127.0.0.1:4010/prefix/2010-04-01/x")
    assert http.rewrite("https://example.com/a") == "https://example.com/a"
    assert BaseUrlHttpClient(None).rewrite("https://api.twilio.com/x") == "https://api.twilio.com/x"
    with pytest.raises(ValueError):
        BaseUrlHttpClient("127.0.0.1:4010")


def test_retry_after_parsing() -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert parse_retry_after({"retry-after": "30"}) == 30.0
    assert parse_retry_after({"Retry-After": "Tue, 10 Mar 2026 12:01:00 GMT"}, now) == 60.0
    assert parse_retry_after({"Retry-After": "Tue, 10 Mar 2026 11:00:00 GMT"}, now) == 0.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(("status", "code", "expected"), [
    (429, 20429, TransientSendError), (500, None, TransientSendError),
    (502, 502, TransientSendError), (400, 21211, PermanentSendError),
    (400, 21610, PermanentSendError), (404, 20404, PermanentSendError),
    (400, 12345, PermanentSendError),
])
def test_classification_table(status: int, code: int | None, expected: type) -> None:
    assert isinstance(classify_twilio_error(status, code, "x"), expected)


def test_configuration_is_checked_at_construction() -> None:
    with pytest.raises(ValueError):
        TwilioSmsChannel(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)  # neither From nor service
    with pytest.raises(ValueError):
        TwilioSmsChannel("", TEST_AUTH_TOKEN, from_number="+1")
    with pytest.raises(ValueError):
        channel("http://x").send(sms(channel="email"))
