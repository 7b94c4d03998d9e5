from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from feedback.auth.service import create_user
from feedback.db import SchemaOutOfDate, make_engine, transaction


def test_staff_login_session_and_logout(client, engine):  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        create_user(s, email="lead@example.com", name="Lena", role="lead", password="s3cret-pass")
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/login")
    page = client.get("/login")
    token = page.cookies.get("csrftoken") or client.cookies.get("csrftoken")
    bad = client.post("/login", data={"email": "lead@example.com", "password": "wrong", "_csrf_token": token})
    assert bad.status_code == 401 and "Wrong email or password" in bad.text
    ok = client.post("/login", data={"email": "LEAD@example.com", "password": "s3cret-pass",
                                     "_csrf_token": token, "next": "//evil.example"},
                     follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/"  # no open redirect
    assert client.get("/whoami").json()["role"] == "lead"
    assert client.get("/api/kpis").status_code == 200
    # a cookie alone never authorises an API write (CSRF)
    assert client.post("/api/interactions", json={}).status_code == 403


@pytest.mark.parametrize(("role", "sees_reports"), [("lead", True), ("recovery", False),
                                                     ("admin", True)])
def test_navigation_offers_only_pages_the_role_may_open(client, engine, role, sees_reports):  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        create_user(s, email="u@example.com", name="U", role=role, password="s3cret-pass",
                    team="Billing")
    client.get("/login")
    client.post("/login", data={"email": "u@example.com", "password": "s3cret-pass",
                                "_csrf_token": client.cookies.get("csrftoken")})
    for page in ("/", "/queue"):
        html = client.get(page).text
        assert 'href="/queue"' in html
        assert ('href="/reports/loop"' in html) is sees_reports
    assert (client.get("/reports/loop").status_code == 200) is sees_reports


def test_login_form_needs_csrf_token(client, engine):  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        create_user(s, email="a@example.com", name="A", role="lead", password="s3cret-pass")
    r = client.post("/login", data={"email": "a@example.com", "password": "s3cret-pass"})
    assert r.status_code == 403


def test_openapi_schema_is_served(client):  # type: ignore[no-untyped-def]
    r = client.get("/schema/openapi.json")
    assert r.status_code == 200
    assert "/api/interactions" in r.json()["paths"] and "/api/kpis" in r.json()["paths"]


def test_app_refuses_to_start_on_an_unmigrated_database(tmp_path):  # type: ignore[no-untyped-def]
    from feedback.app import prepare_database
    from feedback.settings import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}", auto_migrate=False)
    engine = make_engine(settings.database_url)
    with pytest.raises(SchemaOutOfDate, match="feedback migrate"):
        prepare_database(settings, engine)  # what the app's lifespan runs before serving
    engine.dispose()


def test_app_migrates_on_start_by_default(tmp_path):  # type: ignore[no-untyped-def]
    from litestar.testing import TestClient

    from feedback.app import create_app
    from feedback.settings import Settings

    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    with TestClient(create_app(Settings(database_url=url))) as c:
        assert c.get("/health").json() == {"status": "ok"}
    make_engine(url).dispose()


def test_demo_data_seeds_every_screen(tmp_path):  # type: ignore[no-untyped-def]
    from feedback.app import prepare_database
    from feedback.demo import ensure_demo_data
    from feedback.settings import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}", demo=True)
    engine = make_engine(settings.database_url)
    prepare_database(settings, engine)
    assert "interactions" in (ensure_demo_data(engine, settings, interactions=120) or "")
    assert ensure_demo_data(engine, settings) is None  # only on an empty database
    # the theme report has something to show: answers were tagged on arrival
    from feedback.insights.models import ResponseTheme

    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(ResponseTheme)).one() > 0
    engine.dispose()


def test_demo_survey_opens_an_ordinary_survey_in_the_asked_language(settings, engine, clock, session):  # type: ignore[no-untyped-def]
    from litestar.testing import TestClient

    from feedback.app import create_app
    from tests.factories import make_invitation

    en = make_invitation(session, settings, clock.now, 1)
    fa = make_invitation(session, settings, clock.now, 2, customer={"locale": "fa"})
    demo = create_app(settings.model_copy(update={"demo": True}), engine=engine, clock=clock)
    with TestClient(demo, base_url="http://testserver.local") as c:
        assert c.get("/demo/survey", follow_redirects=False).headers["location"] == f"/s/{en.token}"
        r = c.get("/demo/survey?locale=fa", follow_redirects=False)
        assert r.headers["location"] == f"/s/{fa.token}"
    with TestClient(create_app(settings, engine=engine, clock=clock)) as c:
        assert c.get("/demo/survey", follow_redirects=False).status_code == 404  # demo only
