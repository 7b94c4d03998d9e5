"""The SSRF rule on its own: every address a name resolves to must be public."""

from __future__ import annotations

import pytest

from feedback.integrations import ssrf


def _resolver(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(addresses)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "172.16.3.4", "192.168.1.1",
                                     "169.254.169.254", "::1", "fd00::1", "fe80::1%eth0",
                                     "::ffff:127.0.0.1", "0.0.0.0", "224.0.0.1", "100.64.0.1"])
def test_inward_addresses_are_refused(address: str) -> None:
    with pytest.raises(ssrf.Refused, match="private or loopback"):
        ssrf.check("https://hooks.example.com/x", allow_private=False, resolve=_resolver(address))


def test_one_inward_address_among_public_ones_is_enough_to_refuse() -> None:
    with pytest.raises(ssrf.Refused):
        ssrf.check("https://hooks.example.com/x", allow_private=False,
                   resolve=_resolver("93.184.216.34", "127.0.0.1"))


def test_public_addresses_pass_and_allow_private_skips_the_lookup() -> None:
    ssrf.check("https://hooks.example.com/x", allow_private=False,
               resolve=_resolver("93.184.216.34", "2606:2800:220:1::1"))
    ssrf.check("http://127.0.0.1:9/x", allow_private=True, resolve=_resolver())


@pytest.mark.parametrize("url", ["ftp://example.com/", "http:///x", "https://u:p@example.com/",
                                 "http://[::1/x", "javascript:alert(1)"])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(ssrf.Refused):
        ssrf.check(url, allow_private=True)


def test_names_that_do_not_resolve_are_refused() -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(ssrf.Refused, match="does not resolve"):
        ssrf.check("https://nowhere.invalid/", allow_private=False, resolve=fail)


def test_the_guarded_client_connects_only_to_checked_addresses(receiver) -> None:  # type: ignore[no-untyped-def]
    """DNS rebinding: the connection itself resolves and checks, so a name that says
    "public" to the pre-flight check and "127.0.0.1" at connect time is still refused."""
    receiver.start()
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    flip = lambda host, port: next(answers)  # noqa: E731
    url = f"http://rebind.example:{receiver.port}/hook"
    ssrf.check(url, allow_private=False, resolve=flip)  # first answer: public
    client = ssrf.guarded_client(resolve=flip)  # second answer, at connect: loopback
    with pytest.raises(ssrf.Refused, match="127.0.0.1"):
        client.post(url, content=b"{}")
    assert receiver.received == []
