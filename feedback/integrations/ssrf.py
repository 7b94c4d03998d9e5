"""Refusing destinations inside our own network (SSRF).

A webhook URL is checked when it is saved and again right before each delivery: a name that
resolved to a public address yesterday may resolve to 127.0.0.1 or the cloud metadata address
today (DNS rebinding). The delivery's own connection is made by `guarded_client`, whose network
backend resolves the name, checks every address and connects to a checked one — the check and
the connection use the same answer, so a name that flips between the two cannot slip through. Private, loopback, link-local, reserved and multicast addresses are
refused unless FEEDBACK_WEBHOOKS_ALLOW_PRIVATE=true (local development and tests). Redirects
are never followed, so a public receiver cannot bounce us inward either.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

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
    public_addresses(host, port, resolve)


def public_addresses(host: str, port: int, resolve: Resolver | None = None) -> list[str]:
    """The addresses `host` resolves to, all of them public; else Refused."""
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
    return [a.split("%", 1)[0] for a in addresses]


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to checked public addresses. TLS still
    names the host (SNI and certificate check use the URL's name, not the address)."""

    def __init__(self, resolve: Resolver | None = None) -> None:
        self._resolve = resolve

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        address = public_addresses(host, port, self._resolve)[0]
        return super().connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                   socket_options=socket_options)


def guarded_client(resolve: Resolver | None = None) -> httpx.Client:
    """An httpx client that cannot reach private addresses, whatever DNS says when it connects."""
    transport = httpx.HTTPTransport()
    # httpx builds its connection pool itself; its backend is the one seam for the connect.
    transport._pool._network_backend = GuardedBackend(resolve)  # noqa: SLF001
    return httpx.Client(transport=transport, follow_redirects=False)
