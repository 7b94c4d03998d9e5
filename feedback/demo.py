"""Demo data for `feedback serve --demo`: three months of a fictional contact centre, so every
screen has something true-looking to show. Deterministic (seeded) and only run on an empty
database."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from litestar import get
from litestar.response import Redirect
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from feedback.auth.models import User
from feedback.auth.permissions import allow
from feedback.auth.service import create_user
from feedback.db import transaction
from feedback.deps import Conf, Db, Now
from feedback.followups.service import drain
from feedback.ingest.schemas import CustomerIn, InteractionIn
from feedback.ingest.service import ingest_one
from feedback.insights.demo import review_and_train
from feedback.operations import demo as operations_demo
from feedback.recovery.demo import settle_history, work_demo_tasks
from feedback.responses import record_response
from surveys.errors import NotFound
from surveys.models import Customer, Interaction, Invitation, InvitationStatus
from surveys.service import ensure_builtin_surveys
from surveys.types import utcnow

TEAMS = {
    "Billing": ["Amira Haddad", "Tom Becker", "Li Wei"],
    "Technical Support": ["Sara Karimi", "James O'Neill", "Zhang Min", "Priya Nair"],
    "Sales": ["Lucas Moreau", "Hannah Schmidt"],
}
PASSWORD = "demo-password"

COMMENTS = {
    "en": {
        "pos": ["The agent was friendly and solved my problem quickly.",
                "Quick answer, very helpful staff, thank you!",
                "Sorted my billing question in five minutes. Great service.",
                "Really patient agent, explained everything clearly.",
                "Easy to reach and the refund arrived the next day."],
        "mid": ["Fine in the end but I waited a while on hold.",
                "Helpful, but I had to explain my issue twice.",
                "OK service, the app could be easier to use."],
        "neg": ["Waited 40 minutes on hold and was cut off. Terrible.",
                "I was charged twice and nobody has fixed it yet.",
                "The agent was rude and did not listen to me.",
                "Third time calling about the same outage, still not fixed. I want to cancel.",
                "Nobody called me back as promised. Very disappointed.",
                "Too expensive for what you get and the bill is confusing.",
                "The app logged me out three times while I tried to pay.",
                "Internet down since Monday and the technician never showed up.",
                "I was transferred four times and had to repeat everything.",
                "Promised a refund two weeks ago, still waiting.",
                "The chat bot went in circles, could not reach a person."],
    },
    "zh-CN": {
        "pos": ["客服态度很好，很快就解决了我的问题。", "回复及时，非常专业，谢谢！", "退款处理得很快，满意。"],
        "mid": ["问题解决了，但是等待时间有点长。", "还可以，就是要重复说明情况。"],
        "neg": ["等了很久都没人接电话，体验很差。", "重复扣费，到现在还没处理。", "客服态度不好，没有解决问题。",
                "答应给我回电话，结果没人联系我。", "网络断了三天，还没有修好。"],
    },
    "fa": {
        "pos": ["پشتیبان بسیار مودب بود و مشکلم سریع حل شد.", "پاسخ سریع و کارشناس دلسوز، ممنون!"],
        "mid": ["در نهایت حل شد ولی مدت زیادی پشت خط ماندم.", "خوب بود اما مجبور شدم مشکلم را دوباره توضیح بدهم."],
        "neg": ["یک ساعت پشت خط ماندم و تماس قطع شد.", "دو بار از حسابم پول کم شد و هنوز کسی پیگیری نکرده.", "کارشناس بی‌حوصله بود و به حرفم گوش نداد.",
                "قرار بود با من تماس بگیرند ولی کسی زنگ نزد.", "اپلیکیشن مدام خطا می‌دهد و نمی‌توانم پرداخت کنم."],
    },
}
NAMES = {"en": ["Alex Morgan", "Sam Taylor", "Jordan Lee", "Chris Walker", "Pat Kelly", "Robin Clarke"],
         "zh-CN": ["王芳", "李娜", "张伟", "刘洋"], "fa": ["مریم احمدی", "علی رضایی", "سارا محمدی"]}
ZONES = {"en": ["Europe/London", "America/New_York", "America/Chicago"],
         "zh-CN": ["Asia/Shanghai"], "fa": ["Asia/Tehran"]}


def _score(kind: str, mood: str, rnd: random.Random) -> int:
    return {
        "nps": {"pos": rnd.choice([9, 10, 10]), "mid": rnd.choice([7, 8]), "neg": rnd.randint(0, 6)},
        "csat": {"pos": rnd.choice([4, 5, 5]), "mid": 3, "neg": rnd.choice([1, 2])},
        "ces": {"pos": rnd.choice([5, 6, 7]), "mid": 4, "neg": rnd.randint(1, 3)},
    }[kind][mood]


Progress = Callable[[str], None]
# Demo history is relative to the moment it was seeded; past this age it no longer reads as
# "today" (open tasks drift past their deadlines), so a later start seeds it afresh.
STALE_AFTER = timedelta(hours=6)


def ensure_demo_data(engine: Engine, settings: Conf, *, interactions: int = 1500,
                     seed: int = 7, progress: Progress | None = None,
                     now: datetime | None = None) -> str | None:
    """Seed the demo unless the database already holds a fresh one. Returns a summary of what
    was seeded, or None when nothing was. `progress` hears one line per step."""
    say = progress or (lambda _line: None)
    now = (now or utcnow()).replace(second=0, microsecond=0)
    if not _needs_seed(engine, now, say):
        return None
    rnd = random.Random(seed)
    say(f"Seeding demo data: {interactions} interactions over 90 days (first start only)…")
    with transaction(engine) as session:
        create_user(session, email="admin@demo.test", name="Ada Admin", role="admin", password=PASSWORD)
        create_user(session, email="lead@demo.test", name="Lena Lead", role="lead", password=PASSWORD)
        for i, team in enumerate(TEAMS):
            create_user(session, email=("agent@demo.test" if i == 0 else f"recovery{i}@demo.test"),
                        name=["Rita Recovery", "Omid Follow-up", "Mei Callback"][i],
                        role="recovery", password=PASSWORD, team=team)
    answered = 0
    batch = 250
    for start in range(0, interactions, batch):
        with transaction(engine) as session:
            for n in range(start, min(start + batch, interactions)):
                answered += _one(session, settings, rnd, now, n, interactions)
        say(f"  interactions {min(start + batch, interactions)}/{interactions}, "
            f"{answered} answered")
    # The answers' follow-ups (recovery tasks above all), as the worker would have run them.
    drain(engine, settings, lambda: now, worker="demo")
    say("  themes: a lead's review of a third of the comments, a model trained from it…")
    review_and_train(engine, settings, now)
    say("  recovery: the team works its tasks…")
    worked = work_demo_tasks(engine, settings, now, rnd)
    drain(engine, settings, lambda: now, worker="demo")  # the recovery follow-ups' answers
    settle_history(engine, settings, now)
    return (f"{interactions} interactions, {answered} responses, 5 staff users, "
            f"{worked} recovery tasks worked")


def _needs_seed(engine: Engine, now: datetime, say: Progress) -> bool:
    """True for an empty database, and for a demo seeded too long ago that holds nothing but
    demo data (it is wiped first). Anything else is kept as it is."""
    demo = col(Interaction.external_id).startswith("DEMO-")
    with Session(engine) as session:
        if not session.exec(select(func.count()).select_from(Customer)).one():
            return True
        # The demo's staff accounts are created first, at the moment of seeding.
        seeded = session.exec(select(func.min(User.created_at)).where(
            col(User.email).endswith("@demo.test"))).one()
        others = session.exec(select(func.count()).select_from(Interaction).where(~demo)).one()
    if seeded is None or now - seeded < STALE_AFTER:
        return False
    age = now - seeded
    when = f"{age.days} day(s)" if age.days else f"{age.seconds // 3600} hours"
    if others:
        say(f"The demo data was seeded {when} ago; keeping it, since the database also holds "
            f"{others} interaction(s) that are not demo data.")
        return False
    say(f"The demo data was seeded {when} ago; seeding it afresh so it reads as today.")
    _wipe(engine)
    return True


def _wipe(engine: Engine) -> None:
    """Empty every table but Alembic's, children first (read from the database itself, so no
    table is missed whichever models happen to be imported)."""
    tables = sa.MetaData()
    tables.reflect(bind=engine)
    with transaction(engine) as session:
        for table in reversed(tables.sorted_tables):
            if table.name != "alembic_version":
                session.execute(table.delete())
        ensure_builtin_surveys(session)


def _one(session: Session, settings: Conf, rnd: random.Random, now: Any, n: int, total: int) -> int:
    lang = rnd.choices(["en", "zh-CN", "fa"], weights=[70, 18, 12])[0]
    team = rnd.choices(list(TEAMS), weights=[35, 45, 20])[0]
    # Older interactions first, the programme growing (four times the volume of three
    # months ago), so the recovery queue has this week's work in it; the newest day has
    # unanswered invitations still open.
    age = timedelta(days=90 * (1 - n / total) ** 1.4, minutes=rnd.randint(0, 600))
    occurred = now - age - timedelta(hours=1)
    cust_no = rnd.randint(1, 600)
    channel = rnd.choices(["phone", "chat", "email", "ticket"], weights=[45, 30, 15, 10])[0]
    ops = operations_demo.facts(n, channel, team, age)
    item = InteractionIn(**ops,
        external_id=f"DEMO-{n:05d}",
        channel=channel,
        occurred_at=occurred, agent=rnd.choice(TEAMS[team]), team=team,
        queue=f"{team.lower().replace(' ', '-')}-l{rnd.choice([1, 1, 2])}",
        survey=rnd.choices(["nps", "csat", "ces"], weights=[55, 30, 15])[0],
        customer=CustomerIn(
            external_id=f"CUST-{cust_no:04d}", name=rnd.choice(NAMES[lang]), locale=lang,
            email=f"customer{cust_no}@example.com",
            phone=f"+1415555{cust_no:04d}" if cust_no % 3 else None,
            time_zone=rnd.choice(ZONES[lang]), tier=rnd.choice(["standard", "standard", "gold"])),
    )
    item_now = max(occurred, now - timedelta(days=91))
    result = ingest_one(session, item, now=item_now, settings=settings)
    inv = result.invitation
    if inv is None:
        return 0
    if n >= total - 8:
        return 0  # the newest stay scheduled: the demo's in-process worker sends them (dev outbox)
    inv.status, inv.sent_at = InvitationStatus.SENT, inv.send_at
    answered_at = inv.send_at + timedelta(minutes=rnd.randint(5, 600))
    if answered_at >= now - timedelta(minutes=5) or rnd.random() > 0.45:  # ~45 % answer
        return 0
    # Billing had a bad month: a theme the dashboard should surface.
    bad = operations_demo.unhappier(0.45 if team == "Billing" and age < timedelta(days=30) else 0.22, ops)
    mood = rnd.choices(["pos", "mid", "neg"], weights=[1 - bad - 0.2, 0.2, bad])[0]
    survey_kind = item.survey or "nps"
    comment = rnd.choice(COMMENTS[lang][mood]) if rnd.random() < 0.8 else None
    record_response(session, inv, score=_score(survey_kind, mood, rnd), comment=comment,
                    source=rnd.choice(["web", "sms", "email-click"]),
                    now=answered_at, settings=settings,
                    resolved=operations_demo.said_resolved(n, ops, mood))
    return 1


@get("/demo/survey", sync_to_thread=True, guards=[allow("public.demo")], include_in_schema=False)
def demo_survey(db: Db, settings: Conf, now: Now, locale: str = "en") -> Redirect:
    """Open a fresh survey link in demo mode, so a newcomer can answer one: an ordinary survey
    in `locale` (`?locale=fa` shows the right-to-left page, `zh-CN` the Chinese one)."""
    if not settings.demo:
        raise NotFound("not found")
    inv = db.exec(
        select(Invitation).where(col(Invitation.status).in_(["scheduled", "sent"]),
                                 Invitation.expires_at > now)
        .order_by(sa.case((Invitation.purpose == "survey", 0), else_=1),
                  sa.case((Invitation.locale == locale, 0), else_=1),
                  col(Invitation.id).desc())).first()
    if inv is None:
        raise NotFound("no open survey in the demo data")
    return Redirect(f"/s/{inv.token}")


routes = [demo_survey]
