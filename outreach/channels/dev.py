"""The development outbox: stands in for a channel that is not configured.

Never a silent drop — every message goes to the sink (the DB layer passes one that writes a
dev-outbox row, so the message can be read in the UI at `/outbox`) and a one-line summary to
the log at INFO. The body is not logged: it holds the survey link, a bearer credential for the
customer's answer, and a log is read by more people than the outbox.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from outreach.channels.base import ChannelName, OutboundMessage, SendResult, TransientSendError

log = logging.getLogger(__name__)

DevSink = Callable[[OutboundMessage, str], None]
"""Receives the message and the provider id the dev transport assigned to it."""


class DevTransport:
    """`Channel` that records instead of sending. One instance per channel name it replaces."""

    provider = "dev"

    def __init__(self, name: ChannelName, sink: DevSink | None = None) -> None:
        if name not in ("sms", "email"):
            raise ValueError(f"unknown channel {name!r}")
        self.name: ChannelName = name
        self.sink = sink

    def send(self, msg: OutboundMessage) -> SendResult:
        if msg.channel != self.name:
            raise ValueError(f"dev transport for {self.name!r} got a {msg.channel!r} message")
        provider_id = f"dev-{uuid.uuid4().hex}"
        log.info("dev outbox: %s to %s%s (%d characters; read it at /outbox)", msg.channel,
                 msg.to, f" subject {msg.subject!r}" if msg.subject else "", len(msg.body))
        if self.sink is not None:
            try:
                self.sink(msg, provider_id)
            except Exception as exc:
                # The sink is a DB write: failing it must not count as "sent", so the
                # dispatcher retries exactly as it would after a provider outage.
                raise TransientSendError(f"dev outbox sink failed: {exc}") from exc
        return SendResult(provider=self.provider, provider_id=provider_id)
