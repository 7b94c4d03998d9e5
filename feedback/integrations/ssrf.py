"""Refusing destinations inside our own network (SSRF).

A webhook URL is checked when it is saved and again right before each delivery: a name that
resolved to a public address yesterday may resolve to 127.0.0.1 or the cloud metadata address
today (DNS rebinding). Private, loopback, link-local, reserved and multicast addresses are
refused unless FEEDBACK_WEBHOOKS_ALLOW_PRIVATE=true (local development and tests). Redirects
are never followed, so a public receiver cannot bounce us inward either.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]


class Refused(Exception):
    """The destination may not be called; the message says why."""


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check_syntax(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise Refused("only http:// and https:// destinations are allowed")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username or parts.password:
        raise Refused("credentials in the URL are not allowed; use the signing secret")
    return parts.hostname, port


def check(url: str, *, allow_private: bool, resolve: Resolver | None = None) -> None:
    """Raise Refused when `url` may not be called now."""
    host, port = check_syntax(url)
    if allow_private:
        return
    try:
        addresses = (resolve or _resolve)(host, port)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte, UnicodeError: a bad label
        raise Refused(f"{host} does not resolve ({exc.__class__.__name__})") from exc
    if not addresses:
        raise Refused(f"{host} does not resolve")
    for address in addresses:
        ip: Any = ipaddress.ip_address(address.split("%", 1)[0])
        if getattr(ip, "ipv4_mapped", None):
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            raise Refused(f"{host} resolves to {ip}, a private or loopback address "
                          "(set FEEDBACK_WEBHOOKS_ALLOW_PRIVATE=true for local development)")
