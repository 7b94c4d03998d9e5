"""The queue through the JSON API and the server-rendered pages: who sees what, every action
and every refused input, named by its field."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from feedback.notifications.models import Notification
from feedback.recovery.models import RecoveryTask
from tests.factories import make_invitation
from tests.recovery.conftest import sign_in

PASSWORD = "s3cret-pass"


@pytest.fixture
def world(engine, settings, answer, staff, clock):  # type: ignore[no-untyped-def]
    """A Billing and a Sales task, nobody assigned; two recovery members and a lead."""
    settings.recovery_assignment = "none"
    people = {
        "rita": staff("Rita", team="Billing", password=PASSWORD),
        "ravi": staff("Ravi", team="Billing", password=PASSWORD),
        "sam": staff("Sam", team="Sales", password=PASSWORD),
        "lena": staff("Lena", role="lead", team="Billing", password=PASSWORD),
    }
    billing = answer(n=1, score=2, comment="charged twice")
    clock.advance(hours=1)
    sales = answer(n=2, score=1, team="Sales", customer={"phone": None, "tier": "gold"})
    with Session(engine) as s:
        tasks = {t.team: t.id for t in s.exec(select(RecoveryTask)).all()}
    return {"people": people, "billing": tasks["Billing"], "sales": tasks["Sales"],
            "responses": (billing, sales)}


def _ids(r):  # type: ignore[no-untyped-def]
    assert r.status_code == 200, r.text
    return [t["id"] for t in r.json()["items"]]


# --- Who sees what ---------------------------------------------------------------------------


def test_a_recovery_key_sees_only_its_team_unless_allowed(client, api_key, world, settings):  # type: ignore[no-untyped-def]
    client.headers.update(api_key("recovery", "Billing"))
    assert _ids(client.get("/api/recovery/tasks")) == [world["billing"]]
    r = client.get(f"/api/recovery/tasks/{world['sales']}")
    assert r.status_code == 403 and "team Sales" in r.json()["message"]
    assert client.get("/api/recovery/tasks?team=Sales").json()["total"] == 0
    settings.recovery_agents_see_all_teams = True
    assert sorted(_ids(client.get("/api/recovery/tasks"))) == sorted([world["billing"], world["sales"]])
    assert client.get(f"/api/recovery/tasks/{world['sales']}").status_code == 200


def test_a_signed_in_agent_sees_their_team_on_the_pages(client, world):  # type: ignore[no-untyped-def]
    sign_in(client, world["people"]["rita"].email)
    page = client.get("/queue")
    assert page.status_code == 200
    assert f'id="task-{world["billing"]}"' in page.text and f'id="task-{world["sales"]}"' not in page.text
    assert client.get(f"/queue/{world['sales']}").status_code == 403
    assert _ids(client.get("/api/recovery/tasks")) == [world["billing"]]  # reads by session
    # … but a cookie never authorises an API write (CSRF).
    assert client.post(f"/api/recovery/tasks/{world['billing']}/claim").status_code == 403


def test_a_customer_token_gives_no_access(client, session, settings, clock, world):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now, n=7)
    assert client.get(f"/s/{inv.token}").status_code == 200  # the customer's own page
    for url in ("/api/recovery/tasks", f"/api/recovery/tasks/{world['billing']}",
                "/api/recovery/metrics"):
        assert client.get(url).status_code == 401
    assert client.get("/queue", follow_redirects=False).status_code in (302, 303, 401)
    client.headers["Authorization"] = f"Bearer {inv.token}"
    assert client.get("/api/recovery/tasks").status_code == 401
    assert client.post(f"/api/recovery/tasks/{world['billing']}/claim").status_code == 401


def test_metrics_are_for_leads(client, api_key, world):  # type: ignore[no-untyped-def]
    client.headers.update(api_key("recovery", "Billing"))
    assert client.get("/api/recovery/metrics").status_code == 403
    client.headers.update(api_key("lead"))
    assert client.get("/api/recovery/metrics").status_code == 200


# --- The queue ------------------------------------------------------------------------------


def test_nearest_deadline_first_with_overdue_and_filters(api, world, clock, engine):  # type: ignore[no-untyped-def]
    # The Sales answer is an NPS 1 (urgent: 4 h window), so its deadline is the nearest.
    assert _ids(api.get("/api/recovery/tasks")) == [world["sales"], world["billing"]]
    clock.advance(hours=5)
    body = api.get("/api/recovery/tasks").json()
    assert body["items"][0]["overdue"] and not body["items"][1]["overdue"]
    assert body["counts"] == {"open": 2, "overdue": 1, "due_soon": 0, "unassigned": 2, "mine": 0}
    assert _ids(api.get("/api/recovery/tasks?status=overdue")) == [world["sales"]]
    assert _ids(api.get("/api/recovery/tasks?priority=urgent")) == [world["sales"]]
    assert _ids(api.get("/api/recovery/tasks?team=Billing")) == [world["billing"]]
    assert _ids(api.get("/api/recovery/tasks?unassigned=1&per_page=1&page=2")) == [world["billing"]]


@pytest.mark.parametrize(("query", "field"), [
    ("status=maybe", "status"), ("priority=low", "priority"), ("mine=perhaps", "mine"),
    ("owner_id=abc", "owner_id"), ("page=0", "page"), ("per_page=500", "per_page"),
    ("page=x", "page"),
])
def test_bad_filters_are_named(api, world, query, field):  # type: ignore[no-untyped-def]
    r = api.get(f"/api/recovery/tasks?{query}")
    assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_a_bad_filter_on_the_page_says_so_and_shows_the_queue(client, world):  # type: ignore[no-untyped-def]
    sign_in(client, world["people"]["lena"].email)
    r = client.get("/queue?status=maybe")
    assert r.status_code == 422 and "status must be one of" in r.text and "Recovery queue" in r.text


# --- Actions --------------------------------------------------------------------------------


def test_the_whole_loop_through_the_api(api, world, engine):  # type: ignore[no-untyped-def]
    tid, rita = world["billing"], world["people"]["rita"]
    r = api.post(f"/api/recovery/tasks/{tid}/claim")
    assert r.status_code == 403 and "signed-in" in r.json()["message"]  # a key is nobody
    r = api.post(f"/api/recovery/tasks/{tid}/assign", json={"user_id": rita.id, "note": "billing"})
    assert r.status_code == 200 and r.json()["owner_id"] == rita.id and r.json()["status"] == "assigned"
    r = api.post(f"/api/recovery/tasks/{tid}/contact-attempts",
                 json={"channel": "email", "message": "Sorry about the double charge — refund is on its way."})
    assert r.status_code == 201, r.text
    detail = r.json()
    # A message sent is an attempt, not a contact: the first-contact clock runs until reached.
    assert detail["status"] == "contacted" and detail["first_contact_at"] is None
    [attempt] = detail["contact_attempts"]
    assert attempt["result"] == "sent" and attempt["notification_id"]
    with Session(engine) as s:
        note = s.get(Notification, attempt["notification_id"])
        assert note.kind == "email" and note.target == "ana1@example.com" and "refund" in note.body
    r = api.post(f"/api/recovery/tasks/{tid}/resolve",
                 json={"outcome": "recovered", "root_cause": "Billing Error", "note": "refunded"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["outcome"], done["root_cause"]) == ("resolved", "recovered", "billing error")
    assert done["next_due_at"] is None and done["followup"] is not None
    actions = [h["action"] for h in done["history"]]
    assert actions[:1] == ["opened"] and {"assigned", "contact", "followup"} <= set(actions)
    r = api.post(f"/api/recovery/tasks/{tid}/resolve", json={"outcome": "recovered", "root_cause": "price"})
    assert r.status_code == 409 and r.json()["error"] == "task_finished"


@pytest.mark.parametrize(("body", "field"), [
    ({"channel": "call"}, "result"),
    ({"channel": "call", "result": "reached", "message": "hi"}, "message"),
    ({"channel": "email"}, "message"),
    ({"channel": "sms", "message": "hello"}, "channel"),  # this customer has no phone
    ({"channel": "pigeon", "result": "sent"}, "channel"),
    ({"channel": "call", "result": "reached", "extra": 1}, "extra"),
    ({"channel": "call", "result": "reached", "note": "x" * 4001}, "note"),
])
def test_bad_contact_attempts_are_named(api, world, body, field):  # type: ignore[no-untyped-def]
    r = api.post(f"/api/recovery/tasks/{world['sales']}/contact-attempts", json=body)
    assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_opted_out_customer_cannot_be_messaged(api, world, session):  # type: ignore[no-untyped-def]
    from surveys.models import OptOut

    session.add(OptOut(channel="email", address="ana2@example.com", source="test"))
    session.commit()
    r = api.post(f"/api/recovery/tasks/{world['sales']}/contact-attempts",
                 json={"channel": "email", "message": "hello"})
    assert r.status_code == 409 and r.json()["error"] == "opted_out"


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"outcome": "recovered"}, 422, "root_cause"),
    ({"outcome": "recovered", "root_cause": "aliens"}, 422, "root_cause"),
    ({"outcome": "fixed", "root_cause": "price"}, 422, "outcome"),
    ({"outcome": "recovered", "root_cause": "price"}, 409, None),  # nobody was contacted yet
])
def test_bad_resolutions_are_refused(api, world, body, status, field):  # type: ignore[no-untyped-def]
    r = api.post(f"/api/recovery/tasks/{world['billing']}/resolve", json=body)
    assert r.status_code == status, r.text
    if field:
        assert r.json()["field"] == field


def test_unreachable_needs_no_root_cause(api, world):  # type: ignore[no-untyped-def]
    tid = world["billing"]
    api.post(f"/api/recovery/tasks/{tid}/contact-attempts", json={"channel": "call", "result": "no_answer"})
    r = api.post(f"/api/recovery/tasks/{tid}/resolve", json={"outcome": "unreachable"})
    assert r.status_code == 200 and r.json()["status"] == "unreachable" and r.json()["followup"] is None


def test_leads_only_assign_and_close(client, api_key, world):  # type: ignore[no-untyped-def]
    client.headers.update(api_key("recovery", "Billing"))
    tid = world["billing"]
    assert client.post(f"/api/recovery/tasks/{tid}/assign", json={"user_id": 1}).status_code == 403
    assert client.post(f"/api/recovery/tasks/{tid}/close", json={"reason": "dup"}).status_code == 403
    client.headers.update(api_key("lead"))
    r = client.post(f"/api/recovery/tasks/{tid}/assign", json={"user_id": 999})
    assert r.status_code == 422 and r.json()["field"] == "user_id"
    assert client.post(f"/api/recovery/tasks/{tid}/close", json={}).json()["field"] == "reason"
    r = client.post(f"/api/recovery/tasks/{tid}/close", json={"reason": "duplicate"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert client.get("/api/recovery/tasks/99999").status_code == 404


# --- The pages: claim, race, release, contact, resolve -----------------------------------------


def _csrf(client):  # type: ignore[no-untyped-def]
    return client.cookies.get("csrftoken")


def test_claim_race_release_and_resolve_on_the_pages(app, world):  # type: ignore[no-untyped-def]
    from litestar.testing import TestClient

    tid = world["billing"]
    with TestClient(app, base_url="http://testserver.local") as rita, \
            TestClient(app, base_url="http://testserver.local") as ravi:
        sign_in(rita, world["people"]["rita"].email)
        sign_in(ravi, world["people"]["ravi"].email)
        r = rita.post(f"/queue/{tid}/claim", data={"_csrf_token": _csrf(rita)}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/queue/{tid}?done=claimed"
        assert "The task is yours." in rita.get(r.headers["location"]).text
        late = ravi.post(f"/queue/{tid}/claim", data={"_csrf_token": _csrf(ravi)})
        assert late.status_code == 409 and "already owned by Rita" in late.text
        # Ravi cannot work Rita's task …
        r = ravi.post(f"/queue/{tid}/contact", data={"_csrf_token": _csrf(ravi), "channel": "call",
                                                     "result": "reached"})
        assert r.status_code == 403
        # … a refused form keeps what was typed.
        r = rita.post(f"/queue/{tid}/contact", data={"_csrf_token": _csrf(rita), "channel": "call",
                                                     "note": "kept note"})
        assert r.status_code == 422 and "kept note" in r.text and 'role="alert"' in r.text
        r = rita.post(f"/queue/{tid}/contact", data={"_csrf_token": _csrf(rita), "channel": "call",
                                                     "result": "reached", "note": "apologised"},
                      follow_redirects=False)
        assert r.status_code == 303
        r = rita.post(f"/queue/{tid}/resolve", data={"_csrf_token": _csrf(rita), "outcome": "recovered",
                                                     "root_cause": "billing error"})
        assert r.status_code == 200 and "Task resolved." in r.text and "apologised" in r.text
        assert rita.post(f"/queue/{tid}/claim", data={}).status_code == 403  # no CSRF token


def test_the_owner_releases_and_the_task_returns_to_the_queue(app, world):  # type: ignore[no-untyped-def]
    from litestar.testing import TestClient

    tid = world["billing"]
    with TestClient(app, base_url="http://testserver.local") as rita:
        sign_in(rita, world["people"]["rita"].email)
        rita.post(f"/queue/{tid}/claim", data={"_csrf_token": _csrf(rita)})
        r = rita.post(f"/queue/{tid}/release", data={"_csrf_token": _csrf(rita), "note": "on leave"})
        assert r.status_code == 200 and "back in the queue" in r.text
        assert _ids(rita.get("/api/recovery/tasks?unassigned=1")) == [tid]


def test_releasing_another_teams_task_redirects_to_the_queue_not_a_403(app, world, engine):  # type: ignore[no-untyped-def]
    from litestar.testing import TestClient

    from feedback.auth.models import User
    from feedback.recovery.service import SYSTEM, assign

    tid = world["sales"]
    with Session(engine) as s:  # a lead handed Rita (Billing) a Sales task
        task, rita_user = s.get(RecoveryTask, tid), s.get(User, world["people"]["rita"].id)
        assign(s, task, rita_user, SYSTEM, task.opened_at)  # type: ignore[arg-type]
        s.commit()
    with TestClient(app, base_url="http://testserver.local") as rita:
        sign_in(rita, world["people"]["rita"].email)
        assert rita.get(f"/queue/{tid}").status_code == 200  # hers while she owns it
        r = rita.post(f"/queue/{tid}/release", data={"_csrf_token": _csrf(rita)},
                      follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/queue?done=released"
        page = rita.get(r.headers["location"])
        assert page.status_code == 200 and "back in the queue" in page.text


def test_admins_set_a_members_availability(client, api_key, world, engine):  # type: ignore[no-untyped-def]
    from feedback.auth.models import User

    ravi = world["people"]["ravi"].id
    url = f"/api/recovery/members/{ravi}/availability"
    client.headers.update(api_key("lead", "Billing"))
    assert client.put(url, json={"available": False}).status_code == 403
    client.headers.update(api_key("admin"))
    assert client.put(url, json={"available": "no"}).json()["field"] == "available"
    assert client.put("/api/recovery/members/99999/availability",
                      json={"available": False}).status_code == 404
    r = client.put(url, json={"available": False})
    assert r.status_code == 200 and r.json()["available"] is False
    with Session(engine) as s:
        assert s.get(User, ravi).available is False  # type: ignore[union-attr]


def test_the_availability_switch_on_the_users_page(app, world, staff, engine):  # type: ignore[no-untyped-def]
    from litestar.testing import TestClient

    from feedback.auth.models import User

    admin = staff("Ada", role="admin", password=PASSWORD)
    sam = world["people"]["sam"].id
    with TestClient(app, base_url="http://testserver.local") as c:
        sign_in(c, world["people"]["lena"].email)  # a lead may not
        assert c.post(f"/staff/{sam}/availability",
                      data={"_csrf_token": _csrf(c), "available": "off"}).status_code == 403
    with TestClient(app, base_url="http://testserver.local") as c:
        sign_in(c, admin.email)
        r = c.post(f"/staff/{sam}/availability", data={"_csrf_token": _csrf(c), "available": "off"},
                   follow_redirects=False)
        assert r.status_code == 303
    with Session(engine) as s:
        assert s.get(User, sam).available is False  # type: ignore[union-attr]
