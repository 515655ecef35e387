"""Where a webhook may call: the callback URL guard (server-side request forgery).

A callback URL is ``http`` or ``https`` with a host and no credentials. Its host is resolved and the URL is
refused if ANY of its addresses is loopback, private, link-local, multicast, reserved or unspecified (an IPv4
address mapped into IPv6 is judged as the IPv4 one), unless the deployment allows it
(``FEED_ALLOW_PRIVATE_CALLBACKS``: the development stack and the tests). It is checked at registration (a 422
problem) and again before every delivery, and the delivery then connects to the very address that was checked
(``Target.pinned``), so a name that resolves to a public address when checked and to 127.0.0.1 a moment later
(DNS rebinding) cannot turn the worker against the platform's own network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from shared.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
MAX_URL_LENGTH = 2000
RESOLVE_TIMEOUT_S = 5.0


async def resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (A and AAAA); a resolver that does not answer within
    ``RESOLVE_TIMEOUT_S`` is a name that does not resolve (``TimeoutError`` is an ``OSError``)."""
    async with asyncio.timeout(RESOLVE_TIMEOUT_S):
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def forbidden(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified)


@dataclass(frozen=True)
class Target:
    """A checked callback: the URL as registered, and the address the delivery connects to."""

    url: str
    host: str
    address: str

    def pinned(self) -> tuple[str, dict[str, str], dict[str, str]]:
        """The URL with the checked address in place of the host, the ``Host`` header, and httpx's request
        extensions (TLS: the server name sent and verified is still the registered host)."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if ":" in self.address else self.address
        netloc = literal + (f":{parts.port}" if parts.port else "")
        url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        host_header = parts.netloc
        extensions = {"sni_hostname": self.host} if parts.scheme == "https" else {}
        return url, {"Host": host_header}, extensions


def parse(url: str) -> tuple[str, int]:
    """The host and port of an acceptable callback URL (syntax only), or ``InvalidInput``: a 422 at
    registration, a failed attempt before a delivery."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"the callback URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("the callback URL is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("the callback URL must be http or https")
    if not parts.hostname:
        raise InvalidInput("the callback URL has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("the callback URL must not carry credentials")
    if parts.fragment:
        raise InvalidInput("the callback URL must not have a fragment")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> Target:
    """Refuse a callback URL the feed must not call; else the address to connect to."""
    host, port = parse(url)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in await resolver(host, port)]
        except (OSError, UnicodeError, ValueError):
            addresses = []
        if not addresses:
            raise InvalidInput("the callback URL's host does not resolve") from None
    if not allow_private and any(forbidden(a) for a in addresses):
        raise InvalidInput("the callback URL resolves to a loopback, private, link-local, multicast, reserved "
                              "or unspecified address")
    return Target(url, host, str(addresses[0]))
