"""Write paths against their limit (issue #11), product and bare reference in the same run.

On SQLite and PostgreSQL (a scratch database each):
  * ingest over HTTP: `feedback serve` vs a bare Litestar app doing only the essential Core SQL
    (benchmarks/_bare_ingest.py), batches of 500 posted one after another;
  * CSV import: `feedback import interactions` (in process) vs a bare streaming Core script;
  * answers: `POST /s/{token}` with 1 and 8 clients vs the bare answer app of
    benchmarks/submit_bench.py (its servers and seeding are reused);
  * SMS score replies: signed Twilio webhooks (`POST /webhooks/twilio/sms`, a score with no
    comment, so the follow-up question is asked), 8 at a time, vs the bare webhook of
    benchmarks/_bare_sms.py; each customer its own phone;
  * dispatch (PostgreSQL): 1 and then 2 real `feedback worker` processes sending due SMS
    invitations through the `twilio` client to Prism (Twilio's API mock), beside the raw `twilio`
    client's rate against the same Prism (benchmarks/dispatch_bench.py's reference);
  * statements per 500-row ingest request, per promoter answer, per SMS score reply and per
    dispatched invitation, counted in process with a `before_cursor_execute` listener.
Every product figure is printed beside the bare one and as a ratio.

    .venv/bin/python benchmarks/write_paths.py            # 20k rows, 500 answers per phase
    .venv/bin/python benchmarks/write_paths.py --smoke    # small: about a minute
    .venv/bin/python benchmarks/write_paths.py --ingest-only --rows 20000   # ingest and CSV only
    .venv/bin/python benchmarks/write_paths.py --only dispatch [--sends N]  # dispatch phase only

The 1M-row CSV import on PostgreSQL (time, rows/s, peak and sampled RSS, load average) is
benchmarks/import_scale.py:

    .venv/bin/python benchmarks/import_scale.py           # 1,000,000 rows
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlmodel import col  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from benchmarks import _bare_ingest  # noqa: E402
from benchmarks._pgdb import scratch_database  # noqa: E402
from benchmarks.submit_bench import ADMIN_KEY, Server, _run, seed  # noqa: E402
from feedback.app import prepare_database  # noqa: E402
from feedback.cli import settle_heap  # noqa: E402
from feedback.db import make_engine, transaction  # noqa: E402
from feedback.ingest.batch import ingest_batch  # noqa: E402
from feedback.ingest.csv_import import import_file  # noqa: E402
from feedback.ingest.service import parse_payload  # noqa: E402
from feedback.settings import Settings  # noqa: E402
from surveys.models import Customer, Invitation  # noqa: E402

BATCH = 500
SERVE = [sys.executable, "-m", "feedback", "serve"]
TWILIO_TOKEN, PUBLIC = "bench-twilio-token", "https://feedback.example.com"
SMS_PATH = "/webhooks/twilio/sms"
# Both servers verify the webhook signature against these (the environment they inherit).
os.environ.update(FEEDBACK_TWILIO_AUTH_TOKEN=TWILIO_TOKEN, FEEDBACK_PUBLIC_URL=PUBLIC)


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, secret_key="bench" * 8, admin_api_key=ADMIN_KEY,
                    dispatch_delay_minutes=30, twilio_auth_token=TWILIO_TOKEN, public_url=PUBLIC)


def sms_phone(i: int) -> str:
    return f"+1650555{i:04d}"  # apart from the ingest rows' +1415555… numbers


def seed_sms(url: str, start: int, n: int) -> None:
    """Customers `start`…`start+n-1`, each with its own phone and a sent SMS survey."""
    settings, engine = settings_for(url), make_engine(url)
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    with transaction(engine) as s:
        for first in range(start, start + n, 500):
            items = parse_payload([{
                "external_id": f"SMS-{i}", "channel": "phone", "occurred_at": at, "team": "Billing",
                "survey_channel": "sms", "customer": {"external_id": f"SMSC-{i}",
                                                      "phone": sms_phone(i), "locale": "en"}}
                for i in range(first, min(start + n, first + 500))], settings)
            ingest_batch(s, items, now=datetime.now(UTC) - timedelta(minutes=30), settings=settings)
        sent_at = datetime.now(UTC) - timedelta(minutes=1)
        s.execute(sa.update(Invitation).where(Invitation.status == "scheduled",
                                              Invitation.channel == "sms")
                  .values(status="sent", sent_at=sent_at))
        # What dispatch writes beside a sent survey: the customer's `last_surveyed_at` (the
        # fatigue rule's clock). Left unset, every answer would set it: an UPDATE that an
        # answer to a really dispatched survey never makes.
        s.execute(sa.update(Customer).where(col(Customer.id).in_(
            sa.select(col(Invitation.customer_id)).where(col(Invitation.sent_at) == sent_at)))
            .values(last_surveyed_at=sent_at))
    engine.dispose()


def sms_reply(i: int, step: str = "1") -> tuple[dict[str, str], dict[str, str]]:
    """A score from customer `i` (0…10 in turn: promoters, passives and detractors), signed."""
    params = {"MessageSid": f"SM{step}{i:031d}", "AccountSid": "AC" + "0" * 32,
              "From": sms_phone(i), "To": "+15005550006", "Body": str(i % 11), "NumMedia": "0"}
    return params, {"X-Twilio-Signature":
                    RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + SMS_PATH, params)}


async def post_sms(base: str, requests: list[tuple[dict[str, str], dict[str, str]]],
                   concurrency: int) -> float:
    queue = list(reversed(requests))

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            while queue:
                params, headers = queue.pop()
                r = await http.post(SMS_PATH, data=params, headers=headers)
                if r.status_code != 200 or "<Message>" not in r.text:
                    raise RuntimeError(f"SMS reply: {r.status_code} {r.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - started


def interactions(prefix: str, n: int) -> list[dict[str, Any]]:
    at = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0).isoformat()
    return [{"external_id": f"{prefix}-{i}", "channel": "phone", "occurred_at": at,
             "agent": f"agent{i % 40}", "team": f"team{i % 5}",
             "customer": {"external_id": f"{prefix}C-{i // 2}", "name": "Ana Lima",
                          "phone": f"+1415555{i % 10000:04d}", "email": f"c{i}@example.com"}}
            for i in range(n)]


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    lines = ["external_id,channel,occurred_at,agent,team,customer_external_id,customer_name,"
             "customer_phone,customer_email"]
    for r in rows:
        c = r["customer"]
        lines.append(",".join([r["external_id"], r["channel"], r["occurred_at"], r["agent"],
                               r["team"], c["external_id"], c["name"], c["phone"], c["email"]]))
    path.write_text("\n".join(lines) + "\n")


@contextmanager
def counting(engine: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements(url: str) -> tuple[int, int, int]:
    """Statements of one 500-row ingest request (new rows, auth included), of one promoter
    answer without a comment and of one SMS score reply, through the app in process."""
    from litestar.testing import TestClient

    from feedback.app import create_app

    settings = settings_for(url)
    engine = make_engine(url)
    tokens = seed(url, 2)
    with TestClient(create_app(settings, engine=engine), base_url="http://bench.local") as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        client.post("/api/interactions", json=interactions("W", 1))  # warm: caches, first use
        with counting(engine) as seen:
            r = client.post("/api/interactions", json={"interactions": interactions("S", BATCH)})
        assert r.status_code == 201, r.text[:300]
        ingest = len(seen)
        client.post(f"/s/{tokens[1]}", data={"score": "9", "src": "web"},  # warm (config cache)
                    follow_redirects=False)
        with counting(engine) as seen:
            r = client.post(f"/s/{tokens[0]}", data={"score": "10", "src": "web"},
                            follow_redirects=False)
        assert r.status_code < 400, r.text[:300]
        answer = len(seen)
        seed_sms(url, 9000, 2)
        params, headers = sms_reply(9000, "0")
        client.post(SMS_PATH, data=params, headers=headers)  # warm
        params, headers = sms_reply(9001, "0")
        with counting(engine) as seen:
            r = client.post(SMS_PATH, data=params, headers=headers)
        assert r.status_code == 200 and "<Message>" in r.text, r.text[:300]
        sms = len(seen)
    engine.dispose()
    return ingest, answer, sms


def line(label: str, what: str, product: float, bare: float, unit: str) -> None:
    print(f"[{label}] {what:<28} product {product:8.1f} {unit}  bare {bare:8.1f} {unit}  "
          f"ratio {product / bare:.2f}", flush=True)


def bench(label: str, url: str, n_rows: int, n_answers: int, *, ingest_only: bool = False) -> None:
    settings = settings_for(url)
    engine = make_engine(url)
    prepare_database(settings, engine)
    engine.dispose()
    ingest_statements, answer_statements, sms_statements = statements(url)
    print(f"[{label}] statements: {ingest_statements} per {BATCH}-row ingest request "
          f"(auth included), {answer_statements} per promoter answer, {sms_statements} per "
          "SMS score reply (detractor)", flush=True)
    n_sms = n_answers * 2 if n_answers > 100 else n_answers  # smoke: 40 from each side
    if not ingest_only:
        seed_sms(url, 0, 2 * n_sms)
        sms = {"product": [sms_reply(i) for i in range(n_sms)],
               "bare": [sms_reply(i) for i in range(n_sms, 2 * n_sms)]}
        tokens = seed(url, 4 * n_answers + 2)[2:]  # the first two were answered by `statements`
        answers = {"product": (tokens[:n_answers], tokens[2 * n_answers:3 * n_answers]),
                   "bare": (tokens[n_answers:2 * n_answers], tokens[3 * n_answers:])}
    rates: dict[str, dict[str, float]] = {"product": {}, "bare": {}}
    # Both servers run side by side and take turns, batch by batch (and round by round for
    # the answers): a neighbour's load on a shared machine then weighs on both alike, and the
    # ratio stays meaningful even when the absolute rates wander.
    servers = {"product": Server(url, SERVE), "bare": Server(url, [
        sys.executable, "-m", "uvicorn", "--factory", "benchmarks._bare_ingest:app",
        "--log-level", "warning"])}
    try:
        spent = {"product": 0.0, "bare": 0.0}
        rows = {who: interactions(f"H{who}", n_rows + 1) for who in servers}
        clients = {who: httpx.Client(base_url=srv.base, timeout=120, headers={
            "Authorization": f"Bearer {ADMIN_KEY}"}) for who, srv in servers.items()}
        for who in servers:  # warm-up (first-use imports, statement caches), not timed
            r = clients[who].post("/api/interactions", json={"interactions": rows[who][:1]})
            assert r.status_code in (200, 201), r.text[:300]
        for i in range(1, n_rows + 1, BATCH):
            for who in servers:
                started = time.perf_counter()
                r = clients[who].post("/api/interactions",
                                      json={"interactions": rows[who][i:i + BATCH]})
                spent[who] += time.perf_counter() - started
                assert r.status_code in (200, 201), r.text[:300]
        for who in servers:
            clients[who].close()
            rates[who]["ingest"] = n_rows / spent[who]
        for n_clients, index in () if ingest_only else ((1, 0), (8, 1)):
            spent = {"product": 0.0, "bare": 0.0}
            for who in servers:
                asyncio.run(_run(servers[who].base, answers[who][index][:1], 1, 60))  # warm-up
            step = 8 * n_clients
            for k in range(1, n_answers, step):
                for who in servers:
                    took, _, st = asyncio.run(_run(servers[who].base,
                                                   answers[who][index][k:k + step], n_clients, 60))
                    assert set(st) <= {303}, st
                    spent[who] += took
            for who in servers:
                rates[who][f"answers {n_clients}"] = (n_answers - 1) / spent[who]
        if not ingest_only:
            spent = {"product": 0.0, "bare": 0.0}
            for who in servers:  # warm-up
                asyncio.run(post_sms(servers[who].base, sms[who][:1], 1))
            for k in range(1, n_sms, 64):
                for who in servers:
                    spent[who] += asyncio.run(post_sms(servers[who].base, sms[who][k:k + 64], 8))
            for who in servers:
                rates[who]["sms"] = (n_sms - 1) / spent[who]
    finally:
        for server in servers.values():
            server.stop()
    line(label, f"ingest HTTP, batches of {BATCH}", rates["product"]["ingest"],
         rates["bare"]["ingest"], "rows/s")
    for clients in (1, 8):
        if f"answers {clients}" in rates["product"]:
            line(label, f"answers, {clients} client(s)", rates["product"][f"answers {clients}"],
                 rates["bare"][f"answers {clients}"], "req/s")
    if "sms" in rates["product"]:
        line(label, "SMS score replies, 8 at once", rates["product"]["sms"], rates["bare"]["sms"],
             "req/s")
        followups_rate(label, url)

    # Two files a side, run product, bare, bare, product: a load that drifts during the run
    # weighs on both alike. The heap settled first, as `feedback import interactions` does.
    settle_heap()
    half = n_rows // 2
    with tempfile.TemporaryDirectory() as tmp:
        files = {(who, k): Path(tmp, f"{who}{k}.csv") for who in ("p", "b") for k in (0, 1)}
        for (who, k), path in files.items():
            write_csv(path, interactions(f"W{who.upper()}C{k}", half))
        engine = make_engine(url)
        warm = Path(tmp, "warm.csv")  # first use (imports, statement caches) not timed, as above
        write_csv(warm, interactions("WWC", 2))
        import_file(engine, settings, warm)
        write_csv(warm, interactions("WWB", 2))
        _bare_ingest.import_csv(engine, warm)
        took = {"p": 0.0, "b": 0.0}
        for who, k in (("p", 0), ("b", 0), ("b", 1), ("p", 1)):
            started = time.perf_counter()
            if who == "p":
                import_file(engine, settings, files[who, k])
            else:
                _bare_ingest.import_csv(engine, files[who, k])
            took[who] += time.perf_counter() - started
        engine.dispose()
    line(label, "CSV import", 2 * half / took["p"], 2 * half / took["b"], "rows/s")


def followups_rate(label: str, url: str) -> None:
    """The answers' follow-ups (themes, event, recovery task) the servers left in the outbox,
    run by one in-process worker pass after pass: the rate it keeps up with."""
    from feedback.followups.service import drain

    engine = make_engine(url)
    with engine.connect() as c:
        waiting = int(c.execute(sa.text("SELECT count(*) FROM notification WHERE kind = "
                                        "'followup' AND status = 'pending'")).scalar_one())
    if waiting:
        started = time.perf_counter()
        done = drain(engine, settings_for(url), lambda: datetime.now(UTC), worker="bench")
        took = time.perf_counter() - started
        print(f"[{label}] follow-ups run by one worker: {done} in {took:.1f} s, "
              f"{done / took:.1f}/s", flush=True)
    engine.dispose()


def seed_due_sms(url: str, prefix: str, start: int, n: int) -> None:
    """`n` SMS invitations due now (customers `start`…, phones of their own)."""
    settings = settings_for(url).model_copy(update={"dispatch_delay_minutes": 0})
    engine, now = make_engine(url), datetime.now(UTC)
    with transaction(engine) as s:
        for first in range(start, start + n, 500):
            ingest_batch(s, parse_payload([{
                "external_id": f"{prefix}-{i}", "channel": "phone", "survey_channel": "sms",
                "occurred_at": (now - timedelta(minutes=10)).isoformat(),
                "customer": {"external_id": f"{prefix}C-{i}", "phone": sms_phone(i), "locale": "en",
                             "time_zone": "UTC"}} for i in range(first, min(start + n, first + 500))],
                settings), now=now - timedelta(seconds=1), settings=settings)
    engine.dispose()


def sent_count(engine: Any, prefix: str) -> int:
    with engine.connect() as c:
        return int(c.execute(sa.text(
            "SELECT count(*) FROM invitation i JOIN interaction t ON t.id = i.interaction_id "
            "WHERE t.external_id LIKE :p AND i.status = 'sent'"), {"p": f"{prefix}-%"}).scalar_one())


def dispatch(url: str, n: int, worker_counts: tuple[int, ...] = (1, 2)) -> None:
    """Real workers draining due SMS invitations into Prism, beside the raw twilio client."""
    import random

    from benchmarks.dispatch_bench import raw_twilio, start_prism
    from feedback import i18n
    from feedback.integrations.events import emit_conn
    from outreach.channels.factory import build_channels
    from outreach.dispatch import Dispatcher, DispatchPolicy
    from outreach.messages import Site
    from tests.support.prism import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN

    proc, prism = start_prism()
    if proc is None or prism is None:
        print("[postgresql] dispatch skipped: Prism is not installed (npm ci)")
        return
    twilio = {"FEEDBACK_TWILIO_ACCOUNT_SID": TEST_ACCOUNT_SID,
              "FEEDBACK_TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
              "FEEDBACK_TWILIO_FROM_NUMBER": "+15005550006", "FEEDBACK_TWILIO_BASE_URL": prism}
    env = {**os.environ, **twilio, "FEEDBACK_DATABASE_URL": url, "FEEDBACK_SECRET_KEY": "bench" * 8,
           # Every due row goes now: no quiet hours, no fatigue rule, no reminders to schedule.
           "FEEDBACK_DISPATCH_QUIET_HOURS_CHANNELS": "[]", "FEEDBACK_FATIGUE_DAYS": "0",
           "FEEDBACK_REMINDER_AFTER_HOURS": "0", "FEEDBACK_WORKER_POLL_SECONDS": "0.2"}
    engine = make_engine(url)
    with engine.begin() as c:  # earlier phases' unsent surveys must not join the race
        c.execute(sa.text("UPDATE invitation SET send_at = send_at + interval '30 days' "
                          "WHERE status = 'scheduled'"))
    try:
        raw_twilio(prism, 5)  # warm-up: Prism compiles its validators on first use
        # Statements per dispatched invitation, in process (the same Dispatcher the worker runs).
        settings = Settings(database_url=url, secret_key="bench" * 8, twilio_account_sid=TEST_ACCOUNT_SID,
                            twilio_auth_token=TEST_AUTH_TOKEN, twilio_from_number="+15005550006",
                            twilio_base_url=prism)
        seed_due_sms(url, "DS", 6000, 20)
        # As the worker runs it: its side-by-side setting and its integration events.
        dispatcher = Dispatcher(
            engine, build_channels(settings), i18n,
            Site(settings.public_url, settings.company_name, settings.secret_key),
            DispatchPolicy(quiet_channels=frozenset(), fatigue_days=0, reminder_after=None,
                           concurrency=settings.dispatch_concurrency),
            worker="bench", clock=lambda: datetime.now(UTC), rng=random.Random(1),
            events=emit_conn)
        with counting(engine) as seen:
            dispatcher.drain()
        print(f"[postgresql] statements: {len(seen) / 20:.1f} per dispatched SMS invitation "
              f"(claim and settle included; {settings.dispatch_concurrency} side by side)",
              flush=True)
        for k in worker_counts:
            # The raw client's rate measured right before each run: a shared machine's load
            # then weighs on both figures of a ratio alike.
            raw = raw_twilio(prism, n)
            start = 6100 + (k - 1) * n
            workers = [subprocess.Popen([*SERVE[:-1], "worker"], cwd=ROOT, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                       for _ in range(k)]
            try:
                prefix = f"DW{k}"
                seed_due_sms(url, f"{prefix}warm", 9500 + 10 * k, 2 * k)  # wait until they send
                deadline = time.monotonic() + 90
                while sent_count(engine, f"{prefix}warm") < 2 * k and time.monotonic() < deadline:
                    time.sleep(0.1)
                time.sleep(1)  # the second worker's first tick
                started = time.perf_counter()
                seed_due_sms(url, prefix, start, n)
                deadline = time.monotonic() + 300
                while (done := sent_count(engine, prefix)) < n and time.monotonic() < deadline:
                    time.sleep(0.05)
                took = time.perf_counter() - started
            finally:
                for w in workers:
                    w.terminate()
                for w in workers:
                    w.wait(timeout=30)
            print(f"[postgresql] dispatch, {k} worker(s) -> Prism  product {done / took:8.1f} SMS/s "
                  f"  raw twilio {raw:8.1f} SMS/s  ratio {done / took / raw:.2f}"
                  + ("" if done == n else f"  (only {done} of {n} sent)"), flush=True)
    finally:
        engine.dispose()
        os.killpg(proc.pid, signal.SIGTERM)  # Prism runs in its own process group
        proc.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--only", choices=["sqlite", "postgresql", "dispatch"],
                    help="one engine's phases, or the dispatch phase alone (1 and 2 workers)")
    ap.add_argument("--sends", type=int, help="invitations per dispatch run (default 1000; "
                    "smoke 150)")
    ap.add_argument("--rows", type=int, help="rows of the ingest and CSV phases")
    ap.add_argument("--ingest-only", action="store_true",
                    help="ingest over HTTP and the CSV import only (no answers, SMS, dispatch)")
    args = ap.parse_args()
    n_rows, n_answers, n_sends = (1000, 40, 150) if args.smoke else (20000, 500, 1000)
    n_sends = args.sends or n_sends
    n_rows = args.rows or n_rows
    if args.only == "dispatch":
        with scratch_database() as url:
            if url:
                engine = make_engine(url)
                prepare_database(settings_for(url), engine)
                engine.dispose()
                dispatch(url, n_sends)
        return
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            bench("sqlite", f"sqlite:///{tmp}/bench.sqlite3", n_rows, n_answers,
                  ingest_only=args.ingest_only)
    if args.only != "sqlite":
        with scratch_database() as url:
            if url:
                bench("postgresql", url, n_rows, n_answers, ingest_only=args.ingest_only)
                if not args.ingest_only:
                    # Smoke: the two-worker figure only (each phase starts its own workers).
                    dispatch(url, n_sends, (2,) if args.smoke else (1, 2))


if __name__ == "__main__":
    main()
