"""A labelled set of realistic survey comments (themes + per-theme sentiment), generated.

Several industries (telecom, retail, banking, airline, clinic, hotel, software), comments that
mention zero, one or two themes with their own sentiment ("staff lovely but the wait was
awful"), noise (typos, lower case, fillers), and some Chinese and Persian comments. Deterministic
for a seed. `python benchmarks/data/survey_comments.py OUT.csv [N]` writes the CSV the
`feedback themes` commands read (text, themes, classification, industry).
"""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass

# theme -> (positive phrases, negative phrases); {x} is filled with an industry noun.
EN: dict[str, tuple[list[str], list[str]]] = {
    "wait_time": (
        ["got through to someone in under a minute", "no waiting at all", "the {x} was quick",
         "was seen straight away", "fast response, no queue", "they called me back within minutes",
         "barely had to wait"],
        ["waited over an hour on hold", "the queue was ridiculous", "took forever to get a reply",
         "kept waiting for 45 minutes", "three days and still no answer", "on hold for ages",
         "the wait time was awful", "had to wait far too long"]),
    "staff_attitude": (
        ["the agent was friendly and patient", "staff were lovely", "really polite and kind team",
         "the person who helped me was brilliant", "very courteous staff", "she was so helpful",
         "the advisor listened and cared"],
        ["the agent was rude", "staff were dismissive and unhelpful", "he hung up on me",
         "felt like nobody cared", "the advisor was condescending", "unfriendly staff",
         "the rep argued with me instead of helping"]),
    "billing": (
        ["the bill was clear", "refund arrived the next day", "billing was sorted quickly",
         "they fixed the charge on my invoice", "easy to understand my statement"],
        ["charged twice this month", "wrong amount on my bill", "still waiting for my refund",
         "hidden fees on the invoice", "they overcharged me again", "billing error nobody fixes",
         "unexpected charge on my card"]),
    "product_quality": (
        ["the {x} works perfectly", "great quality", "excellent product, does what it says",
         "really well made", "the new {x} is fantastic"],
        ["the {x} broke after a week", "poor quality", "arrived damaged", "stopped working",
         "the {x} is faulty", "cheap materials, fell apart", "keeps crashing and freezing"]),
    "delivery": (
        ["delivery was fast", "arrived a day early", "parcel came on time", "the courier was great",
         "quick shipping"],
        ["delivery was late", "parcel never arrived", "the courier left it in the rain",
         "shipping took two weeks", "lost my package", "missed the delivery slot"]),
    "website_app": (
        ["the app is easy to use", "website was simple to navigate", "online booking was smooth",
         "checkout took seconds", "love the new app"],
        ["the app keeps logging me out", "website crashed at checkout", "could not log in",
         "the online form kept failing", "app is confusing and slow", "password reset never works"]),
    "price": (
        ["good value for money", "fair price", "cheaper than the competition", "great deal",
         "affordable plans"],
        ["far too expensive", "prices went up again", "not worth the money", "overpriced",
         "the fee is a rip off", "too costly for what you get"]),
    "cleanliness": (
        ["the room was spotless", "very clean {x}", "everything was tidy", "clean toilets",
         "immaculate and fresh"],
        ["the room was dirty", "toilets were filthy", "dust everywhere", "stained sheets",
         "the {x} smelled bad", "rubbish left on the floor"]),
    "communication": (
        ["kept me informed at every step", "clear explanation", "they explained everything",
         "got regular updates by text", "clear instructions"],
        ["nobody told me what was happening", "no updates at all", "confusing information",
         "got conflicting answers", "never heard back", "emails were unclear"]),
    "resolution": (
        ["problem solved first time", "fixed my issue quickly", "sorted everything in one call",
         "they resolved it straight away", "issue fixed"],
        ["my issue is still not fixed", "problem was never resolved", "had to call five times",
         "nothing was sorted", "they closed the ticket without fixing it",
         "still broken after three visits"]),
}
INDUSTRY_NOUNS = {
    "telecom": ["router", "phone", "line", "broadband"], "retail": ["order", "jacket", "shoes"],
    "banking": ["card", "account", "transfer"], "airline": ["flight", "check in", "seat"],
    "clinic": ["appointment", "clinic", "surgery"], "hotel": ["hotel", "room", "breakfast"],
    "software": ["software", "dashboard", "update"],
}
INDUSTRY_THEMES = {
    "telecom": ["wait_time", "staff_attitude", "billing", "resolution", "price", "communication"],
    "retail": ["delivery", "product_quality", "price", "website_app", "staff_attitude"],
    "banking": ["billing", "website_app", "wait_time", "staff_attitude", "communication"],
    "airline": ["wait_time", "staff_attitude", "price", "communication", "cleanliness"],
    "clinic": ["wait_time", "staff_attitude", "communication", "cleanliness", "resolution"],
    "hotel": ["cleanliness", "staff_attitude", "price", "wait_time"],
    "software": ["website_app", "product_quality", "resolution", "price", "communication"],
}
NONE_COMMENTS = ["n/a", "nothing to add", "no comment", "thanks", "ok", "fine", "no",
                 "all good thanks", "-", "see above", "nothing else", "not sure"]
# Context that names no theme ("Called about my router."): the model must not tag it.
CONTEXT = ["I have been a customer for years. ", "Called about my {x}. ", "Second time this month. ",
           "Bought a {x} last week. ", "My husband dealt with it. ", "First time using you. "]
MISSED_LABEL = 0.04  # annotators miss a mention now and then; real label sets are not perfect
OPENERS = ["", "", "", "Honestly, ", "Overall ", "To be fair ", "Well, ", "", "Yeah "]
CLOSERS = ["", "", "", ".", "!", " thanks", ". Will not be back", ". Will recommend", "..."]
JOINS = {("positive", "negative"): " but ", ("negative", "positive"): " but ",
         ("positive", "positive"): " and ", ("negative", "negative"): " and also "}

ZH: dict[str, tuple[list[str], list[str]]] = {
    "wait_time": (["很快就接通了", "几乎不用等"], ["等了一个多小时", "排队太久了", "等了半天没人理"]),
    "staff_attitude": (["客服态度很好", "工作人员非常热情"], ["客服态度很差", "服务员很不耐烦"]),
    "billing": (["账单很清楚", "退款很快到账"], ["多收了我的钱", "账单有错误", "退款一直没到"]),
    "delivery": (["快递很快", "送货准时"], ["快递太慢了", "包裹丢了"]),
    "product_quality": (["质量很好", "产品很好用"], ["质量太差", "用了一周就坏了"]),
    "price": (["价格实惠", "性价比高"], ["价格太贵", "又涨价了"]),
}
FA: dict[str, tuple[list[str], list[str]]] = {
    "wait_time": (["خیلی سریع جواب دادند", "اصلا منتظر نماندم"],
                  ["یک ساعت پشت خط منتظر ماندم", "زمان انتظار خیلی طولانی بود"]),
    "staff_attitude": (["کارمند خیلی مودب و صبور بود", "برخورد پرسنل عالی بود"],
                       ["کارمند بی‌ادب بود", "برخورد پرسنل خیلی بد بود"]),
    "billing": (["صورتحساب واضح بود", "پول را سریع برگرداندند"],
                ["دو بار از حسابم کم کردند", "قبض اشتباه بود"]),
    "price": (["قیمت مناسب بود", "ارزش خرید داشت"], ["قیمت خیلی گران است", "دوباره گران کردند"]),
    "delivery": (["ارسال سریع بود", "بسته به موقع رسید"], ["ارسال خیلی دیر شد", "بسته گم شد"]),
}
ZH_JOIN, FA_JOIN = "，但是", " ولی "


@dataclass
class Row:
    text: str
    themes: list[tuple[str, str]]
    classification: str
    industry: str

    def labels(self) -> str:
        return "|".join(f"{t}:{s}" for t, s in self.themes)


def _noise(rng: random.Random, text: str) -> str:
    if rng.random() < 0.3:
        text = text.lower()
    if rng.random() < 0.08 and len(text) > 8:  # one dropped letter: a typo
        i = rng.randrange(1, len(text) - 1)
        text = text[:i] + text[i + 1:]
    return text


def _classification(rng: random.Random, sentiments: list[str]) -> str:
    if not sentiments:
        return rng.choice(["promoter", "passive", "passive", "detractor"])
    if all(s == "positive" for s in sentiments):
        return rng.choices(["promoter", "passive"], [0.85, 0.15])[0]
    if all(s == "negative" for s in sentiments):
        return rng.choices(["detractor", "passive"], [0.85, 0.15])[0]
    return rng.choice(["passive", "detractor", "promoter"])


def _mentions(rng: random.Random, themes: list[str]) -> list[tuple[str, str]]:
    k = rng.choices([1, 2], [0.7, 0.3])[0]
    chosen = rng.sample(themes, k)
    return [(t, rng.choices(["positive", "negative"], [0.45, 0.55])[0]) for t in chosen]


def _phrase(rng: random.Random, bank: dict[str, tuple[list[str], list[str]]], theme: str,
            sentiment: str, noun: str) -> str:
    pos, neg = bank[theme]
    return rng.choice(pos if sentiment == "positive" else neg).replace("{x}", noun)


def generate(n: int = 2400, seed: int = 7) -> list[Row]:
    rng = random.Random(seed)
    rows: list[Row] = []
    industries = sorted(INDUSTRY_THEMES)
    for _ in range(n):
        industry = rng.choice(industries)
        lang = rng.choices(["en", "zh", "fa"], [0.8, 0.1, 0.1])[0]
        if rng.random() < 0.1:
            rows.append(Row(rng.choice(NONE_COMMENTS), [], _classification(rng, []), industry))
            continue
        if lang == "en":
            noun = rng.choice(INDUSTRY_NOUNS[industry])
            mentions = _mentions(rng, INDUSTRY_THEMES[industry])
            parts = [_phrase(rng, EN, t, s, noun) for t, s in mentions]
            text = parts[0]
            if len(parts) == 2:
                text += JOINS[(mentions[0][1], mentions[1][1])] + parts[1]
            text = _noise(rng, rng.choice(OPENERS) + text + rng.choice(CLOSERS))
            text = text[0].upper() + text[1:] if rng.random() < 0.7 else text
            if rng.random() < 0.25:
                text = rng.choice(CONTEXT).replace("{x}", noun) + text
            if len(mentions) == 2 and rng.random() < MISSED_LABEL:
                mentions = mentions[:1]
        else:
            bank, join = (ZH, ZH_JOIN) if lang == "zh" else (FA, FA_JOIN)
            mentions = _mentions(rng, sorted(bank))
            text = join.join(_phrase(rng, bank, t, s, "") for t, s in mentions)
            if len(mentions) == 2 and mentions[0][1] == mentions[1][1]:
                text = text.replace(join, "，" if lang == "zh" else " و ")
        rows.append(Row(text, mentions, _classification(rng, [s for _, s in mentions]), industry))
    return rows


def write_csv(path: str, rows: list[Row]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "themes", "classification", "industry"])
        for r in rows:
            w.writerow([r.text, r.labels(), r.classification, r.industry])


if __name__ == "__main__":
    write_csv(sys.argv[1], generate(int(sys.argv[2]) if len(sys.argv) > 2 else 2400))
