"""What a delivery report may do to an invitation: Twilio's MessageStatus callbacks and email
bounces, mapped to the invitation's status.

Callbacks arrive out of order (Twilio sends them from several machines, and retries), so a
status only ever moves forward: `sent` after `delivered` changes nothing, and nothing changes an
invitation that was answered, expired or suppressed. Pure functions: the caller loads and saves.
"""

from __future__ import annotations

from dataclasses import dataclass

from surveys.models import InvitationStatus as S

# Twilio's MessageStatus values we act on (queued/accepted/scheduled/sending are the provider's
# own steps before `sent`: nothing to record). WhatsApp's `read` proves delivery too.
PROVIDER_STATUSES = frozenset({
    "accepted", "scheduled", "queued", "sending", "sent", "delivered", "read", "undelivered",
    "failed", "canceled", "receiving", "received",
})
_FORWARD = {
    # new status: the statuses it may replace
    S.SENT: {S.SCHEDULED, S.SENDING},
    S.DELIVERED: {S.SCHEDULED, S.SENDING, S.SENT},
    S.FAILED: {S.SCHEDULED, S.SENDING, S.SENT},
}
_TARGET = {
    "sent": S.SENT,
    "delivered": S.DELIVERED,
    "read": S.DELIVERED,
    "undelivered": S.FAILED,
    "failed": S.FAILED,
    "canceled": S.FAILED,
}


@dataclass(frozen=True, slots=True)
class Transition:
    status: S
    reason: str | None = None


def reason_for(provider_status: str, error_code: str | None, error_message: str | None) -> str:
    """"undelivered (Twilio error 30003: Unreachable destination handset)"."""
    detail = f"Twilio error {error_code}" if error_code else None
    if detail and error_message:
        detail = f"{detail}: {error_message}"
    return f"{provider_status} ({detail})" if detail else provider_status


def sms_status_transition(current: str, provider_status: str, *, error_code: str | None = None,
                          error_message: str | None = None) -> Transition | None:
    """The change a MessageStatus callback makes, or None when it must change nothing."""
    target = _TARGET.get(provider_status)
    if target is None or current not in _FORWARD[target]:
        return None
    reason = reason_for(provider_status, error_code, error_message) if target == S.FAILED else None
    return Transition(target, reason)


def bounce_transition(current: str, kind: str, reason: str | None) -> Transition | None:
    """A hard bounce fails an invitation that was on its way (delivered included: the
    provider's "delivered" is only its hand-over to the next mail server); a soft one changes
    nothing — the mail server may still accept a later message."""
    if kind != "hard" or current not in {S.SCHEDULED, S.SENDING, S.SENT, S.DELIVERED}:
        return None
    return Transition(S.FAILED, f"hard bounce ({reason})" if reason else "hard bounce")
