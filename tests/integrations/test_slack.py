"""Slack destinations get readable messages: a detractor's task with the comment and a link,
a breach, and the daily top themes (once a day, whatever the number of runs)."""

from __future__ import annotations

from datetime import timedelta

from feedback.insights.models import ResponseTheme, Theme
from feedback.integrations.tasks import daily_themes
from feedback.recovery.tasks import scan_sla
from feedback.responses import record_response
from tests.factories import make_invitation


def test_detractor_and_breach_messages(engine, settings, clock, endpoint, receiver, deliver, answer):  # type: ignore[no-untyped-def]
    receiver.start()
    endpoint(["task.created", "task.sla_breached"], path="/slack", kind="slack")
    answer(score=1, comment="Nobody called me back <again> & I waited")
    scan_sla(engine, settings, clock.advance(hours=25))
    deliver()
    texts = [r.json["text"] for r in receiver.received]
    assert [list(r.json) for r in receiver.received] == [["text"], ["text"]]
    assert "New recovery task #1" in texts[0] and "NPS 1" in texts[0]
    assert "> Nobody called me back &lt;again&gt; &amp; I waited" in texts[0]  # Slack escaping
    assert f"<{settings.public_url}/queue/1|Open the task>" in texts[0]
    assert "missed its first contact deadline" in texts[1]
    assert "webhook-signature" not in {k.lower() for k in receiver.received[0].headers}


def test_daily_top_themes_once_a_day(engine, settings, clock, session, endpoint, receiver, deliver):  # type: ignore[no-untyped-def]
    receiver.start()
    endpoint(["themes.daily"], path="/slack", kind="slack")
    theme = Theme(name="Queue time", keywords=["queue"])
    session.add(theme)
    session.commit()
    for n in range(1, 4):
        inv = make_invitation(session, settings, clock.now, n=n)
        response = record_response(session, inv, score=3, comment="I waited far too long",
                                   source="web", now=clock.now, settings=settings)
        session.add(ResponseTheme(response_id=response.id, theme_id=theme.id, sentiment="negative",
                                  source="model", created_at=clock.now))
        session.commit()
    day_after = clock.now.replace(hour=7) + timedelta(days=1)
    assert daily_themes(engine, day_after) is None  # before 08:00
    first = daily_themes(engine, day_after.replace(hour=8))
    assert first is not None
    daily_themes(engine, day_after.replace(hour=9))  # a later run the same day: nothing new
    clock.advance(days=2)
    deliver()
    [msg] = receiver.received
    assert "Top themes on" in msg.json["text"] and "Queue time: 3 mention(s), 3 negative" in msg.json["text"]
