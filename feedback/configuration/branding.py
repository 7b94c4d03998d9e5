"""Branding on the customer's survey page: the policy's colour as a stylesheet of this origin
(`/brand.css`: the CSP allows no inline style) and the logo, whose origin the page's own
Content-Security-Policy admits as an image source (and nothing else)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from litestar import Response, get

from feedback.auth.permissions import allow
from feedback.configuration import policies
from feedback.deps import Conf, Db
from feedback.web.security import CSP

_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$")


def logo_origin(url: str) -> str | None:
    """`https://cdn.example.com` of a logo address, or None if it is not a plain http(s) one
    (nothing that could smuggle another directive into the header)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not _HOST.match(parts.netloc or ""):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def page_csp(logo_url: str) -> dict[str, str]:
    """Headers for a page showing the logo (none: the strict default applies)."""
    origin = logo_origin(logo_url) if logo_url else None
    if origin is None:
        return {}
    return {"Content-Security-Policy": CSP.replace("img-src 'self' data:",
                                                  f"img-src 'self' data: {origin}")}


@get("/brand.css", sync_to_thread=True, guards=[allow("public.static")], include_in_schema=False)
def brand_css(db: Db, settings: Conf) -> Response[str]:
    colour = policies.current(db, settings).doc.branding.colour
    css = f":root {{ --accent: {colour}; }}\n.brandbar {{ background: {colour}; }}\n" if colour else ""
    # Re-checked at every load: a colour saved in the product shows without a restart.
    return Response(css, media_type="text/css", headers={"Cache-Control": "no-cache"})


routes = [brand_css]
