"""Security headers on every response.

- A strict Content-Security-Policy: scripts, styles, images and fonts from this origin only, no
  inline script or style, no plugins, forms post only here, and no framing by any other site
  (`frame-ancestors 'none'`, with `X-Frame-Options: DENY` for older browsers).
  Two exceptions, both only on their own paths: the dev outbox shows e-mails in a sandboxed,
  script-less iframe, and e-mail HTML is styled inline; the OpenAPI viewers under /schema load
  their scripts from the documentation CDN Litestar uses.
- `Referrer-Policy: no-referrer` on customer pages, whose URL carries the survey or
  unsubscribe token (a link followed from there must not hand it to another site);
  `same-origin` elsewhere.
- `X-Content-Type-Options: nosniff`, and HSTS when the public URL is https.
"""

from __future__ import annotations

from typing import Any

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-src 'self'; frame-ancestors 'none'")
CSP_OUTBOX = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
CSP_DOCS = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net "
            "https://unpkg.com https://cdn.redoc.ly; style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net "
            "https://unpkg.com https://fonts.googleapis.com; font-src 'self' data: "
            "https://fonts.gstatic.com; img-src 'self' data: https:; connect-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
TOKEN_PATHS = ("/s/", "/u/", "/demo/survey", "/account/password/")


def headers_for(path: str, *, https: bool) -> list[tuple[bytes, bytes]]:
    if path.startswith("/schema"):
        csp = CSP_DOCS
    elif path == "/outbox":
        csp = CSP_OUTBOX
    else:
        csp = CSP
    referrer = "no-referrer" if path.startswith(TOKEN_PATHS) else "same-origin"
    found = [(b"content-security-policy", csp.encode()), (b"x-frame-options", b"DENY"),
             (b"x-content-type-options", b"nosniff"), (b"referrer-policy", referrer.encode())]
    if https:
        found.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return found


def security_headers(https: bool) -> Any:
    """ASGI middleware factory (Litestar `middleware=[...]`)."""

    def middleware(app: Any) -> Any:
        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            extra = headers_for(scope.get("path", ""), https=https)

            async def send_with_headers(message: Any) -> None:
                if message["type"] == "http.response.start":
                    names = {k.lower() for k, _ in message.get("headers", [])}
                    message["headers"] = [*message.get("headers", []),
                                          *[(k, v) for k, v in extra if k not in names]]
                await send(message)

            await app(scope, receive, send_with_headers)

        return wrapped

    return middleware
