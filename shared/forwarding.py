"""The client's address behind a trusted proxy (``TRUSTED_PROXIES``).

A service counts its public and sign-in requests per client address (shared/ratelimit.py). Behind the console (or
an HTTPS ingress) the direct peer is the proxy, and every person would share its one bucket. So the proxy sends
``X-Forwarded-For`` with the address it was called from, and this module believes it ONLY when the direct peer is
in the configured list of trusted proxies: walking ``X-Forwarded-For`` from the right, each hop is taken while the
address that handed it over is trusted. Anyone else's ``X-Forwarded-For`` is ignored (a caller cannot choose its own
bucket), and a malformed hop stops the walk. The address is never stored or logged (ratelimit keys a pseudonym).

uvicorn's own proxy-header handling is off (shared/serve.py): it would rewrite the peer from any loopback caller
before this check could see who the peer really is.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: What development and tests trust when TRUSTED_PROXIES is not set: the loopback (the console on the same host).
LOOPBACK = ("127.0.0.0/8", "::1/128")


@functools.lru_cache(maxsize=32)
def networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """``["10.0.0.0/8", "127.0.0.1"]`` -> networks (a bare address is a /32 or /128); ValueError on a bad entry."""
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries)


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in trusted if n.version == ip.version)


def _hops(values: Iterable[str]) -> list[str]:
    return [hop.strip() for value in values for hop in value.split(",") if hop.strip()]


def client_address(request: HTTPConnection, trusted: Sequence[Network]) -> str:
    """The direct peer, or - when the peer is a trusted proxy - the address it says it was called from."""
    current = request.client.host if request.client else "unknown"
    if not trusted:
        return current
    hops = _hops(request.headers.getlist("x-forwarded-for"))
    while hops and _trusted(current, trusted):
        hop = hops.pop()
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break
        current = hop
    return current
