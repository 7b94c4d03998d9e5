"""A dispatch worker run as a real process by the SIGKILL test: `python -m
tests.outreach.crashing_worker DATABASE_URL`.

Its dev transport pauses right after the message is recorded (the provider has accepted it)
and before the dispatcher settles the row — the window a crash must not turn into a duplicate.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from feedback import i18n
from feedback.db import make_engine
from outreach.channels.base import OutboundMessage
from outreach.devoutbox import DevOutboxStore, ReconcilingDevTransport
from outreach.dispatch import Dispatcher, DispatchPolicy
from outreach.messages import Site
from surveys.types import utcnow

LEASE = timedelta(seconds=1)
NO_QUIET_HOURS = DispatchPolicy(quiet_channels=frozenset(), reminder_after=None, lease=LEASE,
                                batch_size=5)


class SlowStore(DevOutboxStore):
    def __call__(self, msg: OutboundMessage, provider_id: str) -> None:
        super().__call__(msg, provider_id)
        time.sleep(0.3)


def dispatcher(store: DevOutboxStore, worker: str) -> Dispatcher:
    """A dispatcher on the store's database whose channels are the (reconciling) dev outbox."""
    channels = {name: ReconcilingDevTransport(name, store) for name in ("sms", "email")}
    site = Site("http://testserver.local", "Acme", "test-secret-key-0123456789")
    return Dispatcher(store.engine, channels, i18n, site, NO_QUIET_HOURS, worker=worker,
                      clock=utcnow)


def main(url: str) -> None:
    worker = dispatcher(SlowStore(make_engine(url)), "doomed")
    print("ready", flush=True)
    while True:
        worker.run_once()


if __name__ == "__main__":
    main(sys.argv[1])
