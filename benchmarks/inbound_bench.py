"""Inbound SMS webhook benchmark (issue #3): signed requests/s through the whole ASGI app.

N customers each hold a sent SMS survey. Every request is a real Twilio-signed form POST to
/webhooks/twilio/sms (signature check, MessageSid de-duplication, parsing, conversation state,
response + recovery/insights reactions, TwiML), sent C at a time:
  1. the score ("9", "3" …: answer recorded, follow-up asked)
  2. the comment (stored on the response)
  3. Twilio re-delivering step 1's messages (duplicates: answered from the stored reply)
  4. forged signatures (refused before any database work)
Runs on SQLite and, when reachable, PostgreSQL.

    .venv/bin/python benchmarks/inbound_bench.py            # 2000 customers, 8 at a time
    .venv/bin/python benchmarks/inbound_bench.py --smoke    # 60 customers
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from benchmarks._pgdb import scratch_database  # noqa: E402
from feedback.app import create_app, prepare_database  # noqa: E402
from feedback.db import make_engine, transaction  # noqa: E402
from feedback.ingest.service import ingest_one, parse_payload  # noqa: E402
from feedback.settings import Settings  # noqa: E402
from surveys.models import Customer, Invitation  # noqa: E402

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
TOKEN = "bench-auth-token"
PUBLIC = "https://feedback.example.com"
PATH = "/webhooks/twilio/sms"


def phone(i: int) -> str:
    return f"+1415555{i:04d}"


def seed(settings: Settings, n: int) -> None:
    engine = make_engine(settings.database_url)
    prepare_database(settings, engine)
    payloads = [{"external_id": f"IB-{i}", "channel": "phone", "team": "Billing", "agent": "Ana",
                 "occurred_at": (NOW - timedelta(hours=2)).isoformat(), "survey_channel": "sms",
                 "customer": {"external_id": f"IBC-{i}", "phone": phone(i), "locale": "en"}}
                for i in range(n)]
    for start in range(0, n, 500):  # the ingest API's batch limit is 1000
        with transaction(engine) as s:
            for item in parse_payload(payloads[start:start + 500], settings):
                ingest_one(s, item, now=NOW - timedelta(hours=2), settings=settings)
    with transaction(engine) as s:
        s.execute(sa.update(Invitation).values(status="sent", channel="sms", sent_at=NOW))
        # As dispatch does beside a sent survey (else every answer would write it).
        s.execute(sa.update(Customer).values(last_surveyed_at=NOW))
    engine.dispose()


def signed(i: int, sid: str, body: str, token: str = TOKEN) -> tuple[dict[str, str], dict[str, str]]:
    params = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": phone(i),
              "To": "+15005550006", "Body": body, "NumMedia": "0"}
    signature = RequestValidator(token).compute_signature(PUBLIC + PATH, params)
    return params, {"X-Twilio-Signature": signature}


async def timed(client: AsyncTestClient, requests: list[tuple[dict[str, str], dict[str, str]]],
                concurrency: int, expect: int) -> float:
    queue = list(reversed(requests))

    async def worker() -> None:
        while queue:
            params, headers = queue.pop()
            r = await client.post(PATH, data=params, headers=headers)
            if r.status_code != expect:
                raise RuntimeError(f"unexpected {r.status_code}: {r.text[:200]}")

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0


async def run(url: str, label: str, n: int, concurrency: int) -> None:
    settings = Settings(database_url=url, secret_key="bench", public_url=PUBLIC,
                        twilio_auth_token=TOKEN)
    seed(settings, n)
    app = create_app(settings, clock=lambda: NOW)
    sid: Callable[[str, int], str] = lambda step, i: f"SM{step}{i:031d}"  # noqa: E731
    phases = [
        ("score", [signed(i, sid("1", i), f"{i % 11}") for i in range(n)], 200),
        ("comment", [signed(i, sid("2", i), "the agent sorted it out quickly")
                     for i in range(n)], 200),
        ("duplicate", [signed(i, sid("1", i), f"{i % 11}") for i in range(n)], 200),
        ("forged", [signed(i, sid("3", i), "9", token="wrong") for i in range(n)], 403),
    ]
    async with AsyncTestClient(app, base_url="http://internal.local:8000") as client:
        total, total_s = 0, 0.0
        for name, requests, expect in phases:
            seconds = await timed(client, requests, concurrency, expect)
            total, total_s = total + len(requests), total_s + seconds
            print(f"[{label}] {name:9s} {len(requests):5d} signed requests: {seconds:6.2f} s = "
                  f"{len(requests) / seconds:7,.0f} req/s")
        print(f"[{label}] all       {total:5d} requests, {concurrency} at a time: "
              f"{total / total_s:,.0f} req/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--engines", default="sqlite,postgresql")
    a = ap.parse_args()
    n = 60 if a.smoke else min(a.customers, 10_000)  # one phone number each: +1415555NNNN
    if "sqlite" in a.engines:
        with tempfile.TemporaryDirectory() as d:
            asyncio.run(run(f"sqlite:///{d}/bench.sqlite3", "sqlite", n, a.concurrency))
    if "postgresql" in a.engines:
        with scratch_database() as url:
            if url is not None:
                asyncio.run(run(url, "postgresql", n, a.concurrency))

if __name__ == "__main__":
    main()
