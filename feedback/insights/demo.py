"""Themes for `feedback serve --demo`, set up the way a lead would: a small taxonomy, a few
hundred answers reviewed by hand (their themes and sentiment), one model trained from them
through the normal path (`train_now`), and the model tagging the rest (`on_response`). The
theme report then shows real model output, confidence and all, on first start."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from feedback.db import transaction
from feedback.insights.service import correct_response, create_theme, on_response, train_now
from feedback.settings import Settings
from surveys.errors import ValidationFailed
from surveys.models import Response

TAXONOMY = {
    "Wait time": "Time on hold or in the queue before someone helps.",
    "Agent manner": "How the person who helped came across: courtesy, patience, listening.",
    "Billing & refunds": "Charges, invoices, double billing, refunds.",
    "Repeat contact": "Having to call again or explain the problem more than once.",
    "Callback promised": "A promised call back or follow-up that did not happen.",
    "Price & value": "What the service costs compared with what it gives.",
    "App & website": "Self-service: the app, the website, logging in.",
    "Outage": "The service itself not working.",
}

_P, _N = "positive", "negative"
# The lead's reading of each demo comment (`feedback.demo.COMMENTS`): themes with sentiment.
LABELS: dict[str, list[tuple[str, str]]] = {
    "The agent was friendly and solved my problem quickly.": [("Agent manner", _P)],
    "Quick answer, very helpful staff, thank you!": [("Wait time", _P), ("Agent manner", _P)],
    "Sorted my billing question in five minutes. Great service.": [("Billing & refunds", _P)],
    "Really patient agent, explained everything clearly.": [("Agent manner", _P)],
    "Easy to reach and the refund arrived the next day.": [("Wait time", _P),
                                                           ("Billing & refunds", _P)],
    "Fine in the end but I waited a while on hold.": [("Wait time", _N)],
    "Helpful, but I had to explain my issue twice.": [("Agent manner", _P),
                                                      ("Repeat contact", _N)],
    "OK service, the app could be easier to use.": [("App & website", _N)],
    "Waited 40 minutes on hold and was cut off. Terrible.": [("Wait time", _N)],
    "I was charged twice and nobody has fixed it yet.": [("Billing & refunds", _N)],
    "The agent was rude and did not listen to me.": [("Agent manner", _N)],
    "Third time calling about the same outage, still not fixed. I want to cancel.": [
        ("Repeat contact", _N), ("Outage", _N)],
    "Nobody called me back as promised. Very disappointed.": [("Callback promised", _N)],
    "Too expensive for what you get and the bill is confusing.": [("Price & value", _N),
                                                                  ("Billing & refunds", _N)],
    "The app logged me out three times while I tried to pay.": [("App & website", _N)],
    "Internet down since Monday and the technician never showed up.": [("Outage", _N),
                                                                       ("Callback promised", _N)],
    "I was transferred four times and had to repeat everything.": [("Repeat contact", _N)],
    "Promised a refund two weeks ago, still waiting.": [("Billing & refunds", _N),
                                                        ("Callback promised", _N)],
    "The chat bot went in circles, could not reach a person.": [("App & website", _N),
                                                                ("Wait time", _N)],
    "答应给我回电话，结果没人联系我。": [("Callback promised", _N)],
    "网络断了三天，还没有修好。": [("Outage", _N)],
    "قرار بود با من تماس بگیرند ولی کسی زنگ نزد.": [("Callback promised", _N)],
    "اپلیکیشن مدام خطا می‌دهد و نمی‌توانم پرداخت کنم.": [("App & website", _N)],
    "客服态度很好，很快就解决了我的问题。": [("Agent manner", _P)],
    "回复及时，非常专业，谢谢！": [("Wait time", _P), ("Agent manner", _P)],
    "退款处理得很快，满意。": [("Billing & refunds", _P)],
    "问题解决了，但是等待时间有点长。": [("Wait time", _N)],
    "还可以，就是要重复说明情况。": [("Repeat contact", _N)],
    "等了很久都没人接电话，体验很差。": [("Wait time", _N)],
    "重复扣费，到现在还没处理。": [("Billing & refunds", _N)],
    "客服态度不好，没有解决问题。": [("Agent manner", _N)],
    "پشتیبان بسیار مودب بود و مشکلم سریع حل شد.": [("Agent manner", _P)],
    "پاسخ سریع و کارشناس دلسوز، ممنون!": [("Wait time", _P), ("Agent manner", _P)],
    "در نهایت حل شد ولی مدت زیادی پشت خط ماندم.": [("Wait time", _N)],
    "خوب بود اما مجبور شدم مشکلم را دوباره توضیح بدهم.": [("Repeat contact", _N)],
    "یک ساعت پشت خط ماندم و تماس قطع شد.": [("Wait time", _N)],
    "دو بار از حسابم پول کم شد و هنوز کسی پیگیری نکرده.": [("Billing & refunds", _N),
                                                          ("Callback promised", _N)],
    "کارشناس بی‌حوصله بود و به حرفم گوش نداد.": [("Agent manner", _N)],
}


def review_and_train(engine: Engine, settings: Settings, now: datetime, *,
                     reviewed_share: int = 3) -> int:
    """Review every `reviewed_share`-th commented answer, train, tag the others. Returns the
    number of answers tagged by the model."""
    with transaction(engine) as session:
        for name, description in TAXONOMY.items():
            create_theme(session, name=name, description=description, now=now)
        rows = session.exec(select(Response).where(col(Response.comment).is_not(None))
                            .order_by(col(Response.id))).all()
        for i, response in enumerate(rows):
            labels = LABELS.get(response.comment or "")
            if labels is not None and i % reviewed_share == 0:
                correct_response(session, int(response.id or 0), list(labels), now=now,
                                 reviewer="lead@demo.test")
        try:
            train_now(session, now=now)
        except ValidationFailed:  # a tiny demo (tests) has too few reviews to train on
            return 0
    tagged = 0
    with transaction(engine) as session:
        for i, response in enumerate(session.exec(
                select(Response).where(col(Response.comment).is_not(None))
                .order_by(col(Response.id))).all()):
            if not (LABELS.get(response.comment or "") is not None and i % reviewed_share == 0):
                on_response(session, response, now=now, settings=settings)
                tagged += 1
    return tagged
