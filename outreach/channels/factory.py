"""Build the channels the settings describe; an unconfigured channel becomes the dev transport.

`settings` is read by attribute (the application's Settings): twilio_* and smtp_* fields and
`public_url` (for the SMS status callback). Never a silent drop: with no provider configured the
dev transport logs each message and hands it to `dev_sink` (the dev outbox store, if given).
"""

from __future__ import annotations

from typing import Any

from outreach.channels.base import Channel, ChannelName
from outreach.channels.dev import DevSink, DevTransport
from outreach.channels.smtp_email import SmtpEmailChannel
from outreach.channels.twilio_sms import TwilioSmsChannel
from outreach.devoutbox import DevOutboxStore, ReconcilingDevTransport


def sms_configured(settings: Any) -> bool:
    return bool(settings.twilio_account_sid and settings.twilio_auth_token
                and (settings.twilio_from_number or settings.twilio_messaging_service_sid))


def build_channels(settings: Any, dev_sink: DevSink | None = None) -> dict[str, Channel]:
    def dev(name: ChannelName) -> Channel:
        if isinstance(dev_sink, DevOutboxStore):
            return ReconcilingDevTransport(name, dev_sink)
        return DevTransport(name, dev_sink)

    channels: dict[str, Channel] = {}
    if sms_configured(settings):
        channels["sms"] = TwilioSmsChannel(
            settings.twilio_account_sid, settings.twilio_auth_token,
            from_number=settings.twilio_from_number,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            status_callback=f"{settings.public_url}/webhooks/twilio/status",
            base_url=settings.twilio_base_url)
    else:
        channels["sms"] = dev("sms")
    if settings.smtp_host:
        channels["email"] = SmtpEmailChannel(
            settings.smtp_host, settings.smtp_port, security=settings.smtp_security,
            username=settings.smtp_username, password=settings.smtp_password,
            from_addr=settings.smtp_from, timeout=settings.smtp_timeout)
    else:
        channels["email"] = dev("email")
    return channels
