"""shared/forwarding.py: the client's address, believed from X-Forwarded-For only through trusted proxies."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from shared.forwarding import client_address, networks
from shared.settings import ServiceSettings

TRUSTED = networks(("10.0.0.0/8", "::1"))


def request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", f.encode()) for f in forwarded]
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


@pytest.mark.parametrize(("peer", "forwarded", "seen"), [
    ("10.1.2.3", ["198.51.100.7"], "198.51.100.7"),                 # the console forwards the browser
    ("203.0.113.1", ["198.51.100.7"], "203.0.113.1"),               # not a proxy of ours: its header is ignored
    ("10.1.2.3", ["198.51.100.7, 10.9.9.9"], "198.51.100.7"),       # two trusted hops
    ("10.1.2.3", ["1.2.3.4, 198.51.100.7"], "198.51.100.7"),        # a forged hop left of an untrusted one
    ("10.1.2.3", ["1.2.3.4", "198.51.100.7"], "198.51.100.7"),      # repeated headers read as one list
    ("10.1.2.3", ["garbage"], "10.1.2.3"),                          # a malformed hop stops the walk
    ("10.1.2.3", [], "10.1.2.3"),
    ("::1", ["2001:db8::5"], "2001:db8::5"),
])
def test_the_address_is_forwarded_only_by_trusted_proxies(peer, forwarded, seen):
    assert client_address(request(peer, *forwarded), TRUSTED) == seen


def test_no_trusted_proxy_means_the_peer():
    assert client_address(request("127.0.0.1", "198.51.100.7"), ()) == "127.0.0.1"


def test_the_setting_defaults_to_loopback_outside_production():
    dev = ServiceSettings(service_name="identity", database_url="postgresql://u:p@h/d")
    assert client_address(request("127.0.0.1", "198.51.100.7"), dev.trusted_proxy_networks) == "198.51.100.7"
    assert client_address(request("10.1.2.3", "198.51.100.7"), dev.trusted_proxy_networks) == "10.1.2.3"
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        ServiceSettings(service_name="identity", database_url="postgresql://u:p@h/d", trusted_proxies=["x"])


def test_production_trusts_no_proxy_unless_told():
    production = ServiceSettings.model_construct(environment="production", trusted_proxies=None)
    assert production.trusted_proxy_networks == ()
    told = ServiceSettings.model_construct(environment="production", trusted_proxies=["10.42.0.0/16"])
    assert client_address(request("10.42.3.4", "198.51.100.7"), told.trusted_proxy_networks) == "198.51.100.7"
