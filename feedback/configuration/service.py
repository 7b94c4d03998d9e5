"""Distribution rules: which survey an interaction gets, over which channel, when, and whether.

The rules are an ordered list kept in the database (`config_revision`, kind "rules"); the first
enabled rule whose conditions all hold fires. Until an admin saves a first version, the rules
come from FEEDBACK_SURVEY_RULES (the seed); nothing matching means the default NPS survey, as
before rules were editable.

`resolve_rules` takes a whole batch so ingest reads the rule set once per request, however the
batch is processed. Sampling is decided by a hash of the interaction's external id: a retried
webhook gets the same answer, and a sample of 20 % is 20 % of interactions, not of retries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from feedback.configuration import repository
from feedback.configuration.models import ConfigRevision
from feedback.configuration.schemas import RuleIn, RuleSetIn, RuleWhen
from feedback.settings import Settings
from surveys.errors import Conflict, NotFound, ValidationFailed
from surveys.models import SurveyDefinition

KIND = "rules"
SEED_ACTOR = "FEEDBACK_SURVEY_RULES (seed)"
_FIELDS = ("channel", "team", "queue", "agent", "contact_reason", "customer_tier")
_LABEL = {"channel": "channel", "team": "team", "queue": "queue", "agent": "agent",
          "contact_reason": "contact reason", "customer_tier": "customer tier"}


@dataclass(frozen=True)
class RuleSet:
    version: int  # 0: not saved yet, the environment's seed applies
    rules: tuple[RuleIn, ...]
    changed_by: str | None = None
    changed_at: datetime | None = None


@dataclass(frozen=True)
class RuleDecision:
    """What the rules decided for one interaction, and why (in words, for people)."""

    rule_id: int | None  # None: no rule matched, the default applied
    rule_name: str
    survey: str
    via: str
    delay: timedelta
    expiry: timedelta
    reminder: bool
    sampled: bool
    version: int
    why: str
    trace: list[dict[str, Any]] = field(default_factory=list)

    @property
    def note(self) -> str | None:
        """Why no survey is scheduled, or None when one is."""
        if self.via == "none":
            return f"{self.why}; the rule sends no survey"
        if not self.sampled:
            return f"{self.why}; not in the rule's sample"
        return None


def env_rules(settings: Settings) -> tuple[RuleIn, ...]:
    """The rules of FEEDBACK_SURVEY_RULES in today's shape. Keys the old rules could not
    match on (anything but channel, team, queue, agent) become metadata conditions."""
    out = []
    for i, old in enumerate(settings.survey_rules, start=1):
        when: dict[str, Any] = {"metadata": {}}
        for k, v in old.when.items():
            if k in {"channel", "team", "queue", "agent", "contact_reason", "customer_tier"}:
                when[k] = [v]
            else:
                when["metadata"][k] = v
        out.append(RuleIn(id=i, name=f"FEEDBACK_SURVEY_RULES #{i}", when=RuleWhen(**when),
                          survey=old.survey, via=old.via))
    return tuple(out)


def _parse(row: ConfigRevision) -> RuleSet:
    return RuleSet(version=row.version, rules=tuple(RuleIn.model_validate(r) for r in row.body),
                   changed_by=row.changed_by, changed_at=row.changed_at)


def rule_set(session: Session, settings: Settings) -> RuleSet:
    saved = repository.current(session, KIND, _parse)
    return saved if saved is not None else RuleSet(version=0, rules=env_rules(settings))


# --- matching --------------------------------------------------------------------------------

def facts(item: Any) -> dict[str, Any]:
    """An interaction (ingest's InteractionIn, or the test box's probe) as the rules see it."""
    customer = getattr(item, "customer", None)
    channel = getattr(item, "channel", None)
    return {
        "external_id": str(getattr(item, "external_id", "") or ""),
        "channel": getattr(channel, "value", channel) or "",
        "team": item.team or "", "queue": item.queue or "", "agent": item.agent or "",
        "contact_reason": getattr(item, "contact_reason", None) or "",
        "customer_tier": (customer.tier if customer is not None else
                          getattr(item, "customer_tier", None)) or "",
        "metadata": {str(k): v for k, v in (getattr(item, "metadata", None) or {}).items()},
    }


def _mismatch(when: RuleWhen, f: dict[str, Any]) -> str | None:
    """Why the conditions do not hold (the first one that fails), or None when they all do."""
    for name in _FIELDS:
        wanted = getattr(when, name)
        if wanted and f[name].casefold() not in {w.casefold() for w in wanted}:
            have = repr(f[name]) if f[name] else "empty"
            return f"{_LABEL[name]} is {have}, the rule wants {' or '.join(map(repr, wanted))}"
    for key, wanted_value in when.metadata.items():
        have = f["metadata"].get(key)
        if have is None or str(have).casefold() != wanted_value.casefold():
            shown = "missing" if have is None else repr(str(have))
            return f"metadata {key!r} is {shown}, the rule wants {wanted_value!r}"
    return None


def _conditions(when: RuleWhen) -> str:
    parts = [f"{_LABEL[n]} is {' or '.join(map(repr, getattr(when, n)))}"
             for n in _FIELDS if getattr(when, n)]
    parts += [f"metadata {k!r} is {v!r}" for k, v in when.metadata.items()]
    return " and ".join(parts) or "every interaction"


def in_sample(external_id: str, rule_id: int | None, percent: float) -> bool:
    if percent >= 100:
        return True
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"{rule_id}:{external_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100 < percent


def decide(rules: RuleSet, f: dict[str, Any], settings: Settings) -> RuleDecision:
    trace: list[dict[str, Any]] = []
    chosen: RuleIn | None = None
    for position, rule in enumerate(rules.rules, start=1):
        label = {"id": rule.id, "position": position, "name": rule.name or f"rule {position}"}
        if chosen is not None:
            trace.append({**label, "result": "not reached", "why": "an earlier rule fired"})
        elif not rule.enabled:
            trace.append({**label, "result": "skipped", "why": "the rule is turned off"})
        elif (why := _mismatch(rule.when, f)) is not None:
            trace.append({**label, "result": "skipped", "why": why})
        else:
            chosen = rule
            trace.append({**label, "result": "fired",
                          "why": f"it matches: {_conditions(rule.when)}"})
    if chosen is None:
        chosen = RuleIn(name="default")
        why = "no rule matched: the default (NPS, best channel)"
        rule_id = None
    else:
        n = next(t for t in trace if t["result"] == "fired")
        why = f"rule {n['position']} ({n['name']}) fired: {_conditions(chosen.when)}"
        rule_id = chosen.id
    delay = (chosen.delay_minutes if chosen.delay_minutes is not None
             else settings.dispatch_delay_minutes)
    expiry = chosen.expiry_days if chosen.expiry_days is not None else settings.invitation_expiry_days
    sampled = in_sample(f["external_id"], rule_id, chosen.sample_percent)
    return RuleDecision(rule_id=rule_id, rule_name=chosen.name, survey=chosen.survey,
                        via=chosen.via, delay=timedelta(minutes=delay),
                        expiry=timedelta(days=expiry), reminder=chosen.reminder,
                        sampled=sampled, version=rules.version, why=why, trace=trace)


def resolve_rules(session: Session, items: Sequence[Any], *, settings: Settings) -> list[RuleDecision]:
    """The decision for each interaction of a batch, in order (one read of the rule set).

    A batch has few distinct teams, channels and queues: interactions whose facts the rules
    read are alike get the decision worked out once (it is frozen, so shared); only the
    sample draw, which hashes the external id, is made for each of them."""
    rules = rule_set(session, settings)
    named = sorted({k for r in rules.rules for k in r.when.metadata})
    percent = {r.id: r.sample_percent for r in rules.rules}
    known: dict[tuple[Any, ...], RuleDecision] = {}
    out = []
    for item in items:
        f = facts(item)
        meta = f["metadata"]
        key = (*(f[n] for n in _FIELDS),
               *(None if meta.get(k) is None else str(meta[k]) for k in named))
        d = known.get(key)
        if d is None:
            d = known[key] = decide(rules, f, settings)
        elif 0 < (p := percent.get(d.rule_id, 100.0)) < 100:
            sampled = in_sample(f["external_id"], d.rule_id, p)
            if sampled != d.sampled:
                d = replace(d, sampled=sampled)
        out.append(d)
    return out


def decision_json(d: RuleDecision) -> dict[str, Any]:
    return {"rule_id": d.rule_id, "rule_name": d.rule_name, "survey": d.survey, "via": d.via,
            "delay_minutes": int(d.delay.total_seconds() // 60), "expiry_days": d.expiry.days,
            "reminder": d.reminder, "sampled": d.sampled, "rules_version": d.version,
            "why": d.why, "note": d.note, "trace": d.trace}


# --- editing ---------------------------------------------------------------------------------

def _survey_keys(session: Session) -> set[str]:
    return set(session.exec(select(SurveyDefinition.key)).all())


def save_rules(session: Session, body: RuleSetIn, *, by: str, now: datetime,
               settings: Settings) -> RuleSet:
    """A new version of the whole ordered list. Refused (409) if `base_version` is given and
    someone saved since, or if someone else saves the same next version at the same moment."""
    cur = rule_set(session, settings)
    if body.base_version is not None and body.base_version != cur.version:
        raise Conflict(f"the rules changed since version {body.base_version} (now version "
                       f"{cur.version}, by {cur.changed_by}); reload and edit again",
                       field="base_version", code="rules_changed")
    surveys = _survey_keys(session)
    ids: set[int] = set()
    for i, rule in enumerate(body.rules):
        if rule.survey not in surveys:
            raise ValidationFailed(f"rules[{i}].survey: unknown survey {rule.survey!r} (known: "
                                   f"{', '.join(sorted(surveys))})", field=f"rules[{i}].survey")
        if rule.id is not None:
            if rule.id in ids:
                raise ValidationFailed(f"rules[{i}].id: {rule.id} appears twice",
                                       field=f"rules[{i}].id")
            ids.add(rule.id)
    next_id = max([0, *ids, *(r.id or 0 for r in cur.rules)]) + 1
    rules = []
    for rule in body.rules:
        if rule.id is None:
            rule = rule.model_copy(update={"id": next_id})
            next_id += 1
        rules.append(rule)
    summary = _summary(cur.rules, rules, body.note)
    stored = [r.model_dump(mode="json") for r in rules]
    if not repository.insert_revision(session, KIND, cur.version + 1, stored, by=by, now=now,
                                      summary=summary):
        raise Conflict("someone else saved the rules at the same moment; reload and edit again",
                       code="rules_changed")
    from feedback.auth import audit

    audit.record(session, now, actor=by, action="config.rules", target=f"version {cur.version + 1}",
                 detail={"summary": summary})
    return RuleSet(version=cur.version + 1, rules=tuple(rules), changed_by=by, changed_at=now)


def _summary(before: Sequence[RuleIn], after: Sequence[RuleIn], note: str) -> str:
    old = {r.id: r for r in before}
    new = {r.id: r for r in after}
    parts = []
    added = [r for r in after if r.id not in old]
    removed = [r for r in before if r.id not in new]
    changed = [r for r in after if r.id in old and old[r.id] != r]
    parts += [f"added rule {r.id} ({r.name or 'unnamed'})" for r in added]
    parts += [f"removed rule {r.id} ({r.name or 'unnamed'})" for r in removed]
    for r in changed:
        fields = [k for k in RuleIn.model_fields if getattr(old[r.id], k) != getattr(r, k)]
        parts.append(f"changed rule {r.id} ({', '.join(fields)})")
    kept_old = [r.id for r in before if r.id in new]
    kept_new = [r.id for r in after if r.id in old]
    if kept_old != kept_new:
        parts.append("reordered")
    text = "; ".join(parts) or "no change"
    return f"{text} — {note}" if note else text


def add_rule(session: Session, rule: RuleIn, *, position: int | None, by: str, now: datetime,
             settings: Settings) -> RuleSet:
    cur = rule_set(session, settings)
    rules = list(cur.rules)
    at = len(rules) if position is None else max(0, min(position - 1, len(rules)))
    rules.insert(at, rule.model_copy(update={"id": None}))
    return save_rules(session, RuleSetIn(rules=rules, base_version=cur.version), by=by, now=now,
                      settings=settings)


def replace_rule(session: Session, rule_id: int, rule: RuleIn | None, *, by: str,
                 now: datetime, settings: Settings) -> RuleSet:
    """Change one rule in place (or remove it, with `rule=None`)."""
    cur = rule_set(session, settings)
    if not any(r.id == rule_id for r in cur.rules):
        raise NotFound(f"no rule {rule_id}", code="unknown_rule")
    rules = [r if r.id != rule_id else rule.model_copy(update={"id": rule_id})
             for r in cur.rules if r.id != rule_id or rule is not None]
    return save_rules(session, RuleSetIn(rules=rules, base_version=cur.version), by=by, now=now,
                      settings=settings)


def seed(session: Session, settings: Settings, now: datetime) -> None:
    """Version 1 from the environment, once: later starts leave the saved rules alone."""
    if repository.latest(session, KIND) is None:
        stored = [r.model_dump(mode="json") for r in env_rules(settings)]
        repository.insert_revision(session, KIND, 1, stored, by=SEED_ACTOR, now=now,
                                   summary="seeded from the environment")


def rules_json(rs: RuleSet) -> dict[str, Any]:
    return {"version": rs.version, "source": "database" if rs.version else "environment",
            "changed_by": rs.changed_by,
            "changed_at": rs.changed_at.isoformat() if rs.changed_at else None,
            "rules": [r.model_dump(mode="json") for r in rs.rules]}
