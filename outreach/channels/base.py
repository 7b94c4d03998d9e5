"""What every outbound channel promises: one message in, a provider id or a classified error out.

The dispatcher only ever sees these types. It decides what to do next from the exception
class alone (retry later vs. give up), so every provider-specific failure must be mapped to
exactly one of `TransientSendError` / `PermanentSendError` inside the channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal, Protocol, runtime_checkable

ChannelName = Literal["sms", "email"]
CHANNEL_NAMES: tuple[ChannelName, ...] = ("sms", "email")

# Why a permanent failure happened. The dispatcher acts on these differently: an opted-out
# recipient is recorded as an opt-out, a bad number/address marks the contact unusable, and a
# configuration problem should page a human rather than silently fail every survey.
PermanentKind = Literal["invalid_recipient", "opted_out", "rejected", "config"]

# Header names the channel sets itself; letting callers override them would break threading,
# deduplication or the envelope/header agreement.
RESERVED_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "subject", "message-id", "date", "mime-version",
     "content-type", "content-transfer-encoding"}
)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message to one recipient.

    `marker` is a unique string that appears verbatim in `body` (typically the survey token or
    link); it lets an SMS provider's history be searched after a crash (`find_sent`).
    `idempotency_key` is stable across retries of the same logical message (e.g. the
    invitation id); the email channel derives its Message-ID from it so a retried send is the
    same message to the receiving side.
    """

    channel: ChannelName
    to: str
    body: str
    subject: str | None = None
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    status_callback: str | None = None
    marker: str | None = None
    idempotency_key: str | None = None
    sender_name: str | None = None  # e-mail: the From display name (the address stays the channel's)

    def __post_init__(self) -> None:
        if self.channel not in CHANNEL_NAMES:
            raise ValueError(f"unknown channel {self.channel!r}")
        if not self.to or not self.to.strip():
            raise ValueError("recipient is empty")
        if not self.body:
            raise ValueError("body is empty")
        if self.marker is not None and (not self.marker or self.marker not in self.body):
            # Reconciliation searches the provider's copy of the body for the marker; a marker
            # that is not in the body would make a sent message look unsent → double send.
            raise ValueError("marker must be a non-empty substring of body")
        for name, value in self.headers.items():
            if not name or any(c in name for c in ":\r\n ") or any(c in value for c in "\r\n"):
                raise ValueError(f"header {name!r} is malformed (header injection?)")
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by the channel itself")
        # Frozen means frozen: callers must not be able to mutate headers after validation.
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))


@dataclass(frozen=True, slots=True)
class SendResult:
    """The provider accepted the message. `provider_id` is what its status callbacks quote."""

    provider: str
    provider_id: str


class SendError(Exception):
    """Base of the two outcomes the dispatcher distinguishes."""

    def __init__(self, reason: str, code: int | str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TransientSendError(SendError):
    """Try again later (rate limit, provider 5xx, network, SMTP 4xx).

    `retry_after` is the provider's own hint in seconds, if it gave one. `maybe_sent` is True
    when the request may have reached the provider before the failure (a read timeout, a
    connection dropped after the message was transmitted): before retrying such a send the
    dispatcher should reconcile (`find_sent`) where the channel supports it.
    """

    def __init__(
        self,
        reason: str,
        retry_after: float | None = None,
        *,
        code: int | str | None = None,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(reason, code)
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent


class PermanentSendError(SendError):
    """Retrying this message will not help (bad recipient, opted out, rejected content, config)."""

    def __init__(
        self, reason: str, code: int | str | None = None, *, kind: PermanentKind = "rejected"
    ) -> None:
        super().__init__(reason, code)
        self.kind: PermanentKind = kind

    @property
    def opted_out(self) -> bool:
        return self.kind == "opted_out"


@runtime_checkable
class Channel(Protocol):
    """A way of delivering `OutboundMessage`s. `name` is the channel it serves ("sms"/"email")."""

    name: ChannelName

    def send(self, msg: OutboundMessage) -> SendResult: ...


@runtime_checkable
class Reconciler(Protocol):
    """A channel whose provider keeps a searchable history of what it accepted."""

    def find_sent(self, to: str, since: datetime, marker: str) -> str | None: ...
