"""Jinja environment set-up shared by every page.

Staff templates translate and format through these helpers; none needs a handler's help (the
viewer's language comes from the request, see `i18n.request_locale`):

    {{ _("staff.queue.title") }}                 catalogue text (feedback/locales/*.json)
    {{ _("staff.queue.total", n=count) }}        with a parameter (numbers formatted for you)
    {{ _n("staff.queue.tasks", count) }}         plural: `….one` / `….other` by CLDR rules
    {{ value | num(1) }}  {{ share | pct }}      1,234.5 / ۱٬۲۳۴٫۵ ; 67.9%
    {{ ts | when }}  {{ ts | when(tz) }}         Nov 2, 2026, 14:05 in the report zone / `tz`
    {{ d | day }}                                Nov 2, 2026 (a date)

Survey pages pass their `locale` (the customer's) explicitly; staff pages get the viewer's.
A string that is not a catalogue key is shown as it is, so English text passed to `_()` from
older code still reads right.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from jinja2 import pass_context
from markupsafe import Markup

from feedback import i18n
from feedback.configuration import policies
from feedback.settings import Settings

_TEXT_NODE = re.compile(r">([^<>]+)<")
_ENTITY_OR_DIGITS = re.compile(r"&#?\w+;|\d+")


def _dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.strftime(fmt) if value else ""


def ui_locale(ctx: Any) -> str:
    """The page's language: a survey page's own `locale`, else the staff viewer's."""
    explicit = ctx.get("locale")
    if explicit:
        return str(explicit)
    return i18n.request_locale(ctx.get("request"))


def _fmt_params(locale: str, params: dict[str, Any]) -> dict[str, Any]:
    return {k: i18n.number(locale, v) if isinstance(v, int | float) and not isinstance(v, bool)
            else v for k, v in params.items()}


def configure(env: Any, settings: Settings) -> None:
    zone = settings.report_time_zone or settings.default_time_zone or "UTC"

    @pass_context
    def _(ctx: Any, key: str | None, **params: Any) -> str:
        if key is None:
            return ""
        loc = ui_locale(ctx)
        return i18n.t(loc, key, **_fmt_params(loc, params))

    @pass_context
    def _n(ctx: Any, key: str, n: float, **params: Any) -> str:
        loc = ui_locale(ctx)
        return i18n.t(loc, i18n.plural_key(loc, key, n), **_fmt_params(loc, {"n": n, **params}))

    @pass_context
    def num(ctx: Any, value: Any, decimals: int | None = None, sign: bool = False) -> str:
        return i18n.number(ui_locale(ctx), value, decimals, sign=sign)

    @pass_context
    def pct(ctx: Any, value: Any, decimals: int = 1) -> str:
        return i18n.percent(ui_locale(ctx), value, decimals)

    @pass_context
    def when(ctx: Any, value: Any, tz: Any = None, date: str = "yMMMd", time: str = "Hm") -> str:
        return i18n.when(ui_locale(ctx), value, tz or zone, date=date, time=time)

    @pass_context
    def day(ctx: Any, value: Any, skeleton: str = "yMMMd") -> str:
        return i18n.day(ui_locale(ctx), value, skeleton)

    @pass_context
    def digits(ctx: Any, value: Any) -> str:
        return i18n.localise_digits(ui_locale(ctx), str(value))

    @pass_context
    def label(ctx: Any, prefix: str, value: Any) -> str:
        """A stored value (status, outcome, a configured root cause) in the viewer's language
        when the catalogue knows it (`prefix.value`), else as stored."""
        if value is None:
            return "—"
        key = f"{prefix}.{value}"
        text = i18n.t(ui_locale(ctx), key)
        return str(value) if text == key else text

    @pass_context
    def svg_digits(ctx: Any, svg: Any) -> Any:
        """A server-drawn chart's labels in the reader's digits (its text nodes only: no
        coordinate or character reference is touched)."""
        loc = ui_locale(ctx)
        if svg is None or i18n.localise_digits(loc, "0") == "0":
            return svg

        def node(m: re.Match[str]) -> str:
            return ">" + _ENTITY_OR_DIGITS.sub(
                lambda e: e.group(0) if e.group(0).startswith("&")
                else i18n.localise_digits(loc, e.group(0)), m.group(1)) + "<"

        return Markup(_TEXT_NODE.sub(node, str(svg)))

    @pass_context
    def page_locale(ctx: Any) -> str:
        return ui_locale(ctx)

    @pass_context
    def company_name(ctx: Any) -> str:
        """The company name the policies' branding gives (an admin edits it in the product):
        the page's own `company` when its handler read the branding already, else as this
        process last read the policies — never a database read here, on the event loop."""
        if ctx.get("company"):
            return str(ctx["company"])
        request = ctx.get("request")
        engine = getattr(getattr(getattr(request, "app", None), "state", None), "engine", None)
        if engine is None:
            return settings.company_name
        return policies.company_seen(str(engine.url), settings)

    env.globals.update(
        company_name=company_name,
        public_url=settings.public_url,
        locales=i18n.available(),
        demo=settings.demo,
        report_zone=zone,
        _=_, _n=_n, label=label, page_locale=page_locale, is_rtl=i18n.is_rtl,
    )
    env.filters.update(dt=_dt, num=num, pct=pct, when=when, day=day, digits=digits,
                       svg_digits=svg_digits)


def page_context(locale: str, **extra: Any) -> dict[str, Any]:
    return {"locale": locale, "rtl": i18n.is_rtl(locale), "t": i18n.translator(locale), **extra}
