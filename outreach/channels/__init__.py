"""Outbound channels. The provider modules (`twilio_sms`, `smtp_email`) are imported where
they are used, so that importing the interface does not load the Twilio client."""

from outreach.channels.base import (
    CHANNEL_NAMES,
    Channel,
    ChannelName,
    OutboundMessage,
    PermanentKind,
    PermanentSendError,
    Reconciler,
    SendError,
    SendResult,
    TransientSendError,
)
from outreach.channels.dev import DevSink, DevTransport

__all__ = [
    "CHANNEL_NAMES",
    "Channel",
    "ChannelName",
    "DevSink",
    "DevTransport",
    "OutboundMessage",
    "PermanentKind",
    "PermanentSendError",
    "Reconciler",
    "SendError",
    "SendResult",
    "TransientSendError",
]
