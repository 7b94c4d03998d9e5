"""Dispatch throughput (issue 3): invitations/s through the whole path — claim with a lease,
policy re-check, opt-out look-up, composition, send, settle with a contact-log row — against
the development transport (dev outbox table) and against Prism (Twilio's OpenAPI mock) through
the real `twilio` client; beside it, the raw `twilio` client calling Prism in the same run,
which is the ceiling the SMS path can reach on this machine.

    .venv/bin/python benchmarks/dispatch_bench.py            # 3000 dev, 600 Prism invitations
    .venv/bin/python benchmarks/dispatch_bench.py --smoke    # a few dozen
    .venv/bin/python benchmarks/dispatch_bench.py --database-url postgresql://postgres@127.0.0.1/test

Prism must be installed (`npm ci`); without it the Prism figures are skipped and said so.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feedback import i18n  # noqa: E402
from feedback.app import prepare_database  # noqa: E402
from feedback.db import make_engine, transaction  # noqa: E402
from feedback.ingest.service import ingest_one, parse_payload  # noqa: E402
from feedback.settings import Settings  # noqa: E402
from outreach.channels.factory import build_channels  # noqa: E402
from outreach.channels.twilio_sms import TwilioSmsChannel  # noqa: E402
from outreach.devoutbox import DevOutboxStore  # noqa: E402
from outreach.dispatch import Dispatcher, DispatchPolicy  # noqa: E402
from outreach.messages import Site  # noqa: E402
from tests.support.prism import (  # noqa: E402
    PRISM_BIN,
    TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN,
    TWILIO_SPEC,
    free_port,
)

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
CALLBACK = "http://bench.local/webhooks/twilio/status"


def seed(settings: Settings, engine, prefix: str, n: int) -> None:  # type: ignore[no-untyped-def]
    for start in range(0, n, 500):
        items = parse_payload([{
            "external_id": f"{prefix}-{i}", "channel": "phone",
            "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
            "customer": {"external_id": f"{prefix}-C{i}", "phone": f"+1415555{i % 10_000:04d}",
                         "email": f"{prefix.lower()}{i}@example.com", "locale": "en",
                         "time_zone": "UTC"}} for i in range(start, min(n, start + 500))], settings)
        with transaction(engine) as session:
            for item in items:
                ingest_one(session, item, now=NOW - timedelta(minutes=30), settings=settings)


def drain(settings: Settings, engine, channels, n: int) -> float:  # type: ignore[no-untyped-def]
    policy = DispatchPolicy(quiet_channels=frozenset(), fatigue_days=0, reminder_after=None,
                            batch_size=100)
    dispatcher = Dispatcher(engine, channels, i18n,
                            Site(settings.public_url, settings.company_name, settings.secret_key),
                            policy, worker="bench", clock=lambda: NOW, rng=random.Random(1))
    sent = 0
    t0 = time.perf_counter()
    while counts := dispatcher.run_once().counts:
        sent += counts.get("sent", 0)
    elapsed = time.perf_counter() - t0
    assert sent == n, f"expected {n} sent, got {sent}"
    return n / elapsed


def start_prism() -> tuple[subprocess.Popen[bytes] | None, str | None]:
    if not PRISM_BIN.exists() or not TWILIO_SPEC.exists():
        return None, None
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(PRISM_BIN), "mock", "--host", "127.0.0.1", "--port", str(port),
                             str(TWILIO_SPEC)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/", timeout=1)
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.3)
    return proc, url


def raw_twilio(url: str, n: int) -> float:
    channel = TwilioSmsChannel(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, from_number="+15005550006",
                               status_callback=CALLBACK, base_url=url)
    t0 = time.perf_counter()
    for i in range(n):
        channel.client.messages.create(to=f"+1415555{i % 10_000:04d}", from_="+15005550006",
                                       body=f"raw {i}", status_callback=CALLBACK)
    rate = n / (time.perf_counter() - t0)
    channel.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few dozen invitations")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    n_dev, n_prism = (60, 30) if args.smoke else (3000, 600)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        settings = Settings(database_url=url, secret_key="bench", public_url="http://bench.local")
        engine = make_engine(settings.database_url)
        prepare_database(settings, engine)
        run = f"R{int(time.time())}"
        print(f"database: {engine.dialect.name}")
        seed(settings, engine, f"{run}D", n_dev)
        dev = drain(settings, engine, build_channels(settings, DevOutboxStore(engine)), n_dev)
        print(f"dev transport (dev outbox table):   {dev:8.1f} invitations/s  ({n_dev} invitations)")
        proc, prism = start_prism()
        if proc is None or prism is None:
            print("Prism not installed (npm ci): Prism figures skipped")
            return
        try:
            twilio = settings.model_copy(update={
                "twilio_account_sid": TEST_ACCOUNT_SID, "twilio_auth_token": TEST_AUTH_TOKEN,
                "twilio_from_number": "+15005550006", "twilio_base_url": prism})
            raw_twilio(prism, 5)  # warm-up: Prism compiles its validators on first use
            seed(settings, engine, f"{run}P", n_prism)
            whole = drain(settings, engine, build_channels(twilio), n_prism)
            raw = raw_twilio(prism, n_prism)
            print(f"twilio client -> Prism, whole path: {whole:8.1f} invitations/s  ({n_prism})")
            print(f"raw twilio client -> Prism (limit): {raw:8.1f} messages/s     ({n_prism})")
            print(f"whole path / limit:                 {whole / raw:8.0%}")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)  # Prism runs in its own process group
            proc.wait(timeout=10)
        engine.dispose()


if __name__ == "__main__":
    main()
