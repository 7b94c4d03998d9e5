"""Issue #11: an answer costs a handful of statements (one look-up per thing, the conflict
settled by the insert itself, its follow-ups one outbox row run after commit)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.factories import make_invitation


def _count(engine: Any, fn: Any) -> list[str]:
    # Every statement sent, BEGIN included: SQLite's driver mode emits it as a statement of its
    # own (feedback.db), PostgreSQL's driver sends it with the first one.
    seen: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split())[:90])

    event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen


def test_a_promoter_answer_is_at_most_six_statements(client, session, settings, clock, engine):  # type: ignore[no-untyped-def]
    # Counted warm, as a running server sees an answer: the first answer of the process fills
    # the configuration cache (the survey's revision), later ones only check its stamp.
    warm = make_invitation(session, settings, clock(), n=2)
    client.post(f"/s/{warm.token}", data={"score": "10", "src": "web"}, follow_redirects=False)
    inv = make_invitation(session, settings, clock())
    statements = _count(engine, lambda: client.post(
        f"/s/{inv.token}", data={"score": "10", "src": "web"}, follow_redirects=False))
    assert len(statements) <= 6, "\n".join(statements)
    again = client.post(f"/s/{inv.token}", data={"score": "3"}, follow_redirects=False)
    assert again.status_code == 409  # a second, different answer is still refused


def test_a_detractor_answer_with_a_comment_costs_no_more(client, session, settings, clock, engine):  # type: ignore[no-untyped-def]
    # Themes, the response.created event and the recovery task are follow-ups after commit
    # (feedback.followups): the answer itself writes one outbox row for them (was 23 statements).
    warm = make_invitation(session, settings, clock(), n=2)
    client.post(f"/s/{warm.token}", data={"score": "10", "src": "web"}, follow_redirects=False)
    inv = make_invitation(session, settings, clock())
    statements = _count(engine, lambda: client.post(
        f"/s/{inv.token}", data={"score": "1", "comment": "I will cancel", "src": "web"},
        follow_redirects=False))
    assert len(statements) <= 6, "\n".join(statements)
    assert not [s for s in statements if "recovery" in s or "theme" in s or "webhook" in s]


def test_an_answer_to_a_survey_dispatch_sent_is_five_statements(client, session, settings, clock, engine):  # type: ignore[no-untyped-def]
    # Dispatch sets the customer's last_surveyed_at when it sends: the answer has nothing to
    # add there.
    from surveys.models import Customer

    warm = make_invitation(session, settings, clock(), n=2)
    client.post(f"/s/{warm.token}", data={"score": "10", "src": "web"}, follow_redirects=False)
    inv = make_invitation(session, settings, clock())
    customer = session.get(Customer, inv.customer_id)
    inv.status, inv.sent_at = "sent", clock()
    customer.last_surveyed_at = clock()
    session.add_all([inv, customer])
    session.commit()
    statements = _count(engine, lambda: client.post(
        f"/s/{inv.token}", data={"score": "10", "src": "web"}, follow_redirects=False))
    assert len(statements) <= 5, "\n".join(statements)
