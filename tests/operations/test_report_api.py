"""The operations report over a small centre whose figures are computed by hand (both engines).

Clock: 2026-03-10 12:00 UTC; the default period is the 30 days up to today.
  offered 5 (T1–T5), handled 3 (T1, T2, T5), abandoned 2 of which 1 within 5 s (T3)
  answer rate 3 / (5 − 1) = 75 %, abandonment (5 − 1 − 3) / 4 = 25 %
  AHT (400 + 300 + 600) / 3 = 433.33 s, ASA (20 + 40 + 90) / 3 = 50 s
  FCR agent 3 / 4 (T1, T5, T6 yes; T2 no); customer 2 / 3 (T1 no; T2, T5 yes)
  inferred: T1 repeated by T5 within 7 days → no; T2, T6 windows closed → yes; T5 still open
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select

from surveys.models import Interaction
from tests.factories import interaction_payload

pytestmark = pytest.mark.usefixtures("centre")


def _get(api, **params):  # type: ignore[no-untyped-def]
    r = api.get("/api/reports/operations", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_kpis_match_the_hand_computed_figures(api):  # type: ignore[no-untyped-def]
    data = _get(api)
    k = data["kpis"]
    assert (k["contacts"], k["offered"], k["handled"], k["abandoned"], k["short_abandons"]) == (
        6, 5, 3, 2, 1)
    assert k["answer_rate"]["value"] == pytest.approx(75.0)
    assert k["abandonment"]["value"] == pytest.approx(25.0)
    assert k["aht"]["value"] == pytest.approx(1300 / 3)
    assert k["asa"]["value"] == pytest.approx(50.0)
    assert k["fcr_agent"]["value"] == pytest.approx(75.0)
    assert k["transfer_rate"]["value"] == pytest.approx(200 / 3)
    assert k["first_response"]["value"] == pytest.approx(3600.0)
    fcr = data["fcr"]
    assert fcr["customer"]["value"] == pytest.approx(200 / 3)
    assert (fcr["inferred"]["value"], fcr["inferred"]["n"]) == (pytest.approx(200 / 3), 3)
    assert fcr["agent_vs_customer"] == {"n": 3, "agent_yes_customer_no": 1,
                                        "agent_no_customer_yes": 1,
                                        "disagree_pct": pytest.approx(66.67)}
    assert fcr["agent_vs_inferred"]["agent_yes_inferred_no"] == 1


def test_repeat_window_is_a_parameter(api):  # type: ignore[no-untyped-def]
    # With a 2-day window T5 (3 days after T1) is no longer a repeat, and T5's window closed.
    fcr = _get(api, window_days="2")["fcr"]["inferred"]
    assert (fcr["value"], fcr["n"]) == (pytest.approx(100.0), 4)
    r = api.get("/api/reports/operations", params={"window_days": "0"})
    assert r.status_code == 400 and "window_days" in r.text


def test_filters_and_breakdowns(api):  # type: ignore[no-untyped-def]
    sales = _get(api, team="Sales")["kpis"]
    assert (sales["contacts"], sales["handled"]) == (3, 1)
    assert sales["aht"]["value"] == pytest.approx(600.0)
    rows = {r["key"]: r for r in _get(api, by="contact_reason")["breakdown"]}
    assert rows["billing"]["contacts"] == 3 and rows["(none)"]["contacts"] == 2
    assert api.get("/api/reports/operations", params={"by": "colour"}).status_code == 400


def test_satisfaction_by_lever_and_scorecard(api):  # type: ignore[no-untyped-def]
    data = _get(api)
    sat = data["satisfaction"]
    assert sat["kpi"] == "nps"
    transfers = next(lv for lv in sat["levers"] if lv["lever"] == "transfers")
    by_band = {b["band"]: b for b in transfers["bands"]}
    assert by_band["0"]["nps"]["value"] == 0.0  # T1: one passive (8)
    assert by_band["1"]["nps"]["value"] == -100.0  # T2: one detractor
    assert by_band["2+"]["nps"]["value"] == 100.0  # T5: one promoter
    assert by_band["0"]["vs_rest"]["significant"] is False  # n = 1 is never "significant"
    agents = {a["agent"]: a for a in data["scorecard"]["agents"]}
    assert agents["Tom"]["aht"]["value"] == pytest.approx(350.0)
    assert agents["Ann"]["quadrant"] == "slow · high"
    assert agents["Tom"]["quadrant"] == "fast · low"


def test_csv_equals_api(api):  # type: ignore[no-untyped-def]
    data = _get(api, team="Billing")
    r = api.get("/api/reports/operations/csv/kpis", params={"team": "Billing"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = {row["kpi"]: row for row in csv.DictReader(io.StringIO(r.text.lstrip("\ufeff")))}
    assert float(rows["aht"]["value"]) == pytest.approx(data["kpis"]["aht"]["value"], abs=0.01)
    assert float(rows["fcr_customer"]["value"]) == pytest.approx(data["fcr"]["customer"]["value"],
                                                                 abs=0.01)
    assert api.get("/api/reports/operations/csv/nope").status_code == 400


def test_page_renders_for_a_lead(api):  # type: ignore[no-untyped-def]
    r = api.get("/reports/operations", params={"team": "Billing"})
    assert r.status_code == 200, r.text
    assert "Agent scorecard" in r.text and 'id="ops-aht"' in r.text


def test_ingest_stores_and_validates_operational_fields(api, session):  # type: ignore[no-untyped-def]
    ok = api.post("/api/interactions", json=interaction_payload(
        50, offered_at="2026-03-10T10:58:00Z", answered_at="2026-03-10T10:59:30Z",
        talk_seconds=120, transfers=1, resolved=True, contact_reason="refund"))
    assert ok.status_code == 201, ok.text
    row = session.exec(select(Interaction).where(Interaction.external_id == "T-50")).one()
    assert (row.wait_seconds, row.talk_seconds, row.transfers, row.resolved, row.contact_reason) == (
        90, 120, 1, True, "refund")
    for bad, field in [({"talk_seconds": -5}, "talk_seconds"),
                       ({"offered_at": "2026-03-10T11:00:00Z", "answered_at": "2026-03-10T10:00:00Z"},
                        "answered_at"),
                       ({"abandoned": True, "talk_seconds": 30}, "abandoned"),
                       ({"transfers": 500}, "transfers")]:
        r = api.post("/api/interactions", json=interaction_payload(51, **bad))
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["field"] == field, r.text


def test_blocked_share_by_hand(api, session, settings):  # type: ignore[no-untyped-def]
    """03-08 (no other contact that day): two calls turned away busy, three offered (two
    handled, one abandoned after 10 s). Blocked share 2 / (3 + 2) = 40 %; abandonment over the
    offered only, (3 − 0 − 2) / 3 = 33.33 %."""
    from tests.operations.conftest import contact

    for n, fields in [(60, {"blocked": True}), (61, {"blocked": True}),
                      (62, {"wait_seconds": 30, "talk_seconds": 100}),
                      (63, {"abandoned": True, "wait_seconds": 10}),
                      (64, {"blocked": False, "wait_seconds": 5, "talk_seconds": 200})]:
        contact(session, settings, n, f"2026-03-08T{n - 50:02d}:00:00+00:00", **fields)
    data = _get(api, **{"from": "2026-03-08", "to": "2026-03-08"})
    k = data["kpis"]
    assert (k["contacts"], k["offered"], k["blocked"]) == (5, 3, 2)
    assert (k["blocked_share"]["value"], k["blocked_share"]["n"]) == (pytest.approx(40.0), 5)
    assert k["abandonment"]["value"] == pytest.approx(100 / 3)
    assert k["answer_rate"]["value"] == pytest.approx(200 / 3)
    r = api.get("/api/reports/operations/csv/kpis", params={"from": "2026-03-08", "to": "2026-03-08"})
    assert r.status_code == 200
    rows = {row["kpi"]: row for row in csv.DictReader(io.StringIO(r.text.lstrip("\ufeff")))}
    assert (float(rows["blocked_share"]["value"]), rows["blocked_share"]["n"]) == (40.0, "5")
    r = api.get("/api/reports/operations/csv/breakdown", params={"from": "2026-03-08", "to": "2026-03-08"})
    (row,) = csv.DictReader(io.StringIO(r.text.lstrip("\ufeff")))
    assert float(row["blocked_share"]) == 40.0
    for bad in ({"blocked": True, "talk_seconds": 30}, {"blocked": True, "abandoned": True},
                {"blocked": True, "wait_seconds": 20}, {"blocked": "maybe"}):
        r = api.post("/api/interactions", json=interaction_payload(70, **bad))
        assert r.status_code == 422 and r.json()["field"] == "blocked", (bad, r.text)
