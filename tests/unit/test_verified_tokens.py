"""The verified-token cache of shared.auth: a token checked once is remembered, never past its exp, never as good
when it was refused, and never more than a bounded number of them (the key set's changes: test_tokens_jwks.py)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import jwt
import pytest

from shared.auth import TokenVerifier, VerifiedTokens
from shared.errors import Unauthorized
from shared.settings import ServiceSettings
from tests.conftest import token


def verifier(**kw: object) -> TokenVerifier:
    settings = ServiceSettings(service_name="registry", environment="development", _env_file=None,
                               database_url="postgresql://x@y/z", **kw)
    return TokenVerifier(settings)


def counting(v: TokenVerifier) -> list[str]:
    """The tokens ``v`` checked in full (signature and claims), in order."""
    checked: list[str] = []
    full = v._verify

    async def spy(t: str) -> tuple[object, float]:
        checked.append(t)
        return await full(t)

    v._verify = spy  # type: ignore[method-assign]
    return checked


async def test_a_verified_token_is_checked_once_then_remembered_by_a_hash_of_it():
    v = verifier()
    checked = counting(v)
    t = token("ward_official", "phu-son")
    first = await v.verify(t)
    assert await v.verify(t) == first and await v.verify(t) is first
    assert checked == [t]
    assert len(v.verified) == 1
    assert t.encode() not in v.verified._entries and VerifiedTokens.key(t) in v.verified._entries  # never the token


async def test_a_remembered_token_past_its_exp_is_refused():
    v = verifier(jwt_leeway_s=0)
    t = token("ward_official", "phu-son", ttl=timedelta(seconds=1))
    await v.verify(t)
    exp = jwt.decode(t, options={"verify_signature": False})["exp"]
    while time.time() < exp + 0.05:
        await asyncio.sleep(0.05)
    with pytest.raises(Unauthorized, match="expired"):
        await v.verify(t)
    assert len(v.verified) == 0


async def test_a_token_is_remembered_no_longer_than_the_bound():
    v = verifier()
    v.verified.ttl_s = 0.2
    checked = counting(v)
    t = token("ward_official", "phu-son")
    await v.verify(t)
    await v.verify(t)
    await asyncio.sleep(0.25)
    await v.verify(t)
    assert checked == [t, t]


@pytest.mark.parametrize("forge", [{"aud": "awards"}, {"iss": "https://evil.example"}, {"roles": ["mayor"]},
                                   {"ttl": timedelta(minutes=-5)}, {"kid": "someone-else"}])
async def test_a_refused_token_is_never_remembered(forge):
    v = verifier()
    checked = counting(v)
    forge = dict(forge)
    t = token(forge.pop("roles", ["ward_official"]), "phu-son", **forge)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            await v.verify(t)
    assert checked == [t, t] and len(v.verified) == 0


async def test_an_impostor_signature_is_refused_even_beside_a_remembered_token():
    from cryptography.hazmat.primitives.asymmetric import ed25519

    v = verifier()
    good = token("ward_official", "phu-son", sub="same-person")
    await v.verify(good)
    header, payload, _ = good.split(".")
    impostor = jwt.encode(jwt.decode(good, options={"verify_signature": False}),
                          ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA",
                          headers=jwt.get_unverified_header(good))
    assert impostor.split(".")[:2] == [header, payload]  # the same claims, another signature
    with pytest.raises(Unauthorized, match="signature does not verify"):
        await v.verify(impostor)


async def test_the_cache_is_bounded_least_recently_used_first_out():
    v = verifier()
    v.verified.max_entries = 3
    checked = counting(v)
    tokens = [token("ward_official", "phu-son", sub=f"person-{i}") for i in range(5)]
    for t in tokens:
        await v.verify(t)
    assert len(v.verified) == 3
    await v.verify(tokens[4])  # remembered
    await v.verify(tokens[0])  # dropped: checked again, and now the most recent
    assert checked == [*tokens, tokens[0]]
    assert len(v.verified) == 3
    await v.verify(tokens[3])  # tokens[2] went out when tokens[0] came back, tokens[3] stayed
    assert checked == [*tokens, tokens[0]]
