"""Operational facts for the demo's interactions, with the relationships a real centre shows:
long waits, transfers and unresolved contacts make unhappy customers, and Billing's recent push
on handle time (shorter calls, fewer resolved) is the story the operations report should tell.

Each contact draws from its own generator (seeded by its number), so the demo's other random
choices stay exactly as they were.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

REASONS = ("billing", "delivery", "account", "technical", "cancellation")


def facts(n: int, channel: str, team: str, age: timedelta) -> dict[str, Any]:
    r = random.Random(f"ops-{n}")
    rushed = team == "Billing" and age < timedelta(days=30)
    out: dict[str, Any] = {"contact_reason": r.choice(REASONS)}
    if channel in ("email", "ticket"):
        out["first_response_seconds"] = min(int(r.expovariate(1 / 5400)), 31 * 86_400)
        out["resolved"] = r.random() < 0.7
        return out
    wait = min(int(r.expovariate(1 / (90 if channel == "phone" else 40))), 3600)
    if r.random() < 0.07:  # abandoned; a third of them within the first seconds
        return {**out, "abandoned": True, "wait_seconds": r.randint(1, 5) if r.random() < 0.35 else wait}
    transfers = r.choices([0, 1, 2, 3], weights=[70, 20, 7, 3])[0]
    talk = max(30, int(r.gauss(230 if rushed else 330, 90)))
    resolved_p = (0.55 if rushed else 0.82) - 0.15 * min(transfers, 2)
    return {**out, "wait_seconds": wait, "talk_seconds": talk,
            "hold_seconds": r.choice([0, 0, 0, r.randint(10, 240)]),
            "wrap_seconds": r.randint(15, 60 if rushed else 120), "transfers": transfers,
            "resolved": r.random() < resolved_p}


def unhappier(bad: float, ops: dict[str, Any]) -> float:
    """The share of unhappy answers for a contact with these facts (capped so the demo's
    mood weights stay valid)."""
    if (ops.get("wait_seconds") or 0) > 300:
        bad += 0.2
    if (ops.get("transfers") or 0) >= 2:
        bad += 0.15
    if ops.get("resolved") is False:
        bad += 0.2
    return min(bad, 0.75)


def said_resolved(n: int, ops: dict[str, Any], mood: str) -> bool | None:
    """The customer's "was it resolved?": mostly agrees with the agent, less when unhappy;
    a fifth leave it blank."""
    r = random.Random(f"ops-said-{n}")
    if r.random() < 0.2 or ops.get("resolved") is None:
        return None
    if mood == "neg":
        return r.random() < 0.25
    return bool(ops["resolved"]) if r.random() < 0.9 else not ops["resolved"]
