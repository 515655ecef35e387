"""The feed's rules as specifications, run over the in-memory unit of work and over PostgreSQL alike (``app`` is
parametrised ``fake`` / ``postgres``): who may create a subscriber for which wards, its first key shown once and
stored as a hash, rotation, revocation and disabling refused at once, every use counted, and what a subscriber
sees (its wards and types, narrowed by a query, never widened), each public event appended once, in order."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from services.feed import consumers, domain
from services.feed.commands import (
    AuthenticateClient,
    AuthenticateKey,
    CreateSubscriber,
    DisableSubscriber,
    IssueKey,
    RevokeKey,
)
from shared.actor import ALL_WARDS, SYSTEM, Principal, Role
from shared.application import Application
from shared.contracts.registry import PublicGroupCreated, PublicTeamFormed
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation, Unauthorized
from shared.paging import PageRequest
from tests.application import audited
from tests.feed.conftest import OTHER_WARD, WARD

OFFICIAL = Principal("official-1", frozenset({Role.WARD_OFFICIAL}), WARD)
ELSEWHERE = Principal("official-dv", frozenset({Role.WARD_OFFICIAL}), OTHER_WARD)
CITY = Principal("city-1", frozenset({Role.CITY_OFFICIAL}), ALL_WARDS)
RESIDENT = Principal("resident-1", frozenset({Role.RESIDENT}), WARD)
TEAM_TYPE = "public.registry.team.formed.v1"


def create(wards: list[str] | None = None, **overrides: Any) -> CreateSubscriber:
    body: dict[str, Any] = {"name": "Phường Đông Vệ", "wards": wards or [WARD], **overrides}
    return CreateSubscriber(**body)


async def authenticate(app: Application, api_key: str) -> dict[str, Any]:
    cmd = AuthenticateKey(key_id=domain.key_id_of(api_key), key_hash=hashlib.sha256(api_key.encode()).hexdigest())
    return await app.run(cmd, SYSTEM)


def team_formed(ward: str = WARD, n: int = 1) -> PublicTeamFormed:
    return PublicTeamFormed(ward_id=ward, subject=f"team-{n}", team_id=f"team-{n}", group_id="tran-phu",
                            kind="security_order", name=f"Tổ {n}")


def group_created(ward: str = WARD, n: int = 1) -> PublicGroupCreated:
    return PublicGroupCreated(ward_id=ward, subject=f"group-{n}", group_id=f"group-{n}", name=f"Tổ dân phố {n}")


async def append(app: Application, *events: Any) -> None:
    adapters = app.on_events(consumers.HANDLERS)
    for event in events:
        await adapters[type(event)](None, event)  # type: ignore[arg-type]


async def read(app: Application, subscriber: dict[str, Any], after: int = 0, limit: int = 100,
               wards: list[str] | None = None, types: list[str] | None = None) -> list[dict[str, Any]]:
    where = domain.narrow(domain.Subscriber.of(subscriber), wards, types)
    async with app.read() as uow:
        return await uow.feed.after(after, limit, where)


# -- creation and grants -----------------------------------------------------------------------------------------
async def test_an_official_creates_a_subscriber_of_their_ward_and_sees_its_key_once(app: Application):
    made = await app.run(create(event_types=[TEAM_TYPE]), OFFICIAL)
    assert made["wards"] == [WARD] and made["event_types"] == [TEAM_TYPE] and made["status"] == "active"
    assert made["api_key"].startswith(f"wfk_{made['key_id']}_") and len(made["key_id"]) == 12
    async with app.read() as uow:
        key = await uow.keys.get(made["key_id"])
        listed = await uow.keys.of(made["subscriber_id"])
    assert bytes(key["key_hash"]) == hashlib.sha256(made["api_key"].encode()).digest()
    assert made["api_key"] not in repr(key) and "api_key" not in listed[0]
    assert await audited(app) == [("subscriber.create", "subscriber", made["subscriber_id"])]


async def test_an_official_grants_only_their_own_ward_a_city_official_any(app: Application):
    with pytest.raises(Forbidden):
        await app.run(create([WARD, OTHER_WARD]), OFFICIAL)
    with pytest.raises(Forbidden):
        await app.run(create([WARD]), ELSEWHERE)
    with pytest.raises(Forbidden):
        await app.run(create([WARD]), RESIDENT)
    made = await app.run(create([WARD, OTHER_WARD]), CITY)
    assert made["wards"] == sorted([WARD, OTHER_WARD])


async def test_unknown_event_types_and_a_reused_oauth_client_are_refused(app: Application):
    with pytest.raises(InvalidInput):
        await app.run(create(event_types=["public.registry.team.dissolved.v9"]), OFFICIAL)
    await app.run(create(oauth_client_id="dong-ve-feed"), OFFICIAL)
    with pytest.raises(Conflict):
        await app.run(create(oauth_client_id="dong-ve-feed"), OFFICIAL)


async def test_another_wards_subscriber_is_not_found_and_lists_show_only_reachable_ones(app: Application):
    mine = await app.run(create([WARD]), OFFICIAL)
    both = await app.run(create([WARD, OTHER_WARD]), CITY)
    for cmd in (IssueKey(subscriber_id=both["subscriber_id"]), DisableSubscriber(subscriber_id=both["subscriber_id"])):
        with pytest.raises(NotFound):
            await app.run(cmd, OFFICIAL)
    with pytest.raises(NotFound):
        await app.run(DisableSubscriber(subscriber_id=mine["subscriber_id"]), ELSEWHERE)
    async with app.read() as uow:
        of_ward = await uow.subscribers.page(WARD, PageRequest(50, None))
        every = await uow.subscribers.page(None, PageRequest(50, None))
        first = await uow.subscribers.page(None, PageRequest(1, None))
    assert [s["subscriber_id"] for s in of_ward] == [mine["subscriber_id"]]
    assert {s["subscriber_id"] for s in every} == {mine["subscriber_id"], both["subscriber_id"]}
    assert len(first) == 2  # limit + 1: there is a next page


# -- keys: use, rotation, revocation, disabling ---------------------------------------------------------------------
async def test_each_use_of_a_key_is_counted(app: Application):
    made = await app.run(create(), OFFICIAL)
    for _ in range(3):
        grant = await authenticate(app, made["api_key"])
    assert grant == {"subscriber_id": made["subscriber_id"], "wards": [WARD], "event_types": None,
                     "key_id": made["key_id"]}
    async with app.read() as uow:
        (key,) = await uow.keys.of(made["subscriber_id"])
        subscriber = await uow.subscribers.get(made["subscriber_id"])
    assert key["use_count"] == 3 and key["last_used_at"] is not None and subscriber["use_count"] == 3


async def test_a_wrong_secret_or_a_forged_key_is_refused(app: Application):
    made = await app.run(create(), OFFICIAL)
    forged = made["api_key"][:-4] + ("AAAA" if not made["api_key"].endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthorized):
        await authenticate(app, forged)
    with pytest.raises(Unauthorized):
        await authenticate(app, "wfk_AAAAAAAAAAAA_" + "x" * 43)
    with pytest.raises(Unauthorized):
        domain.key_id_of("wfk_short")


async def test_rotation_keeps_old_keys_until_revoked_and_revocation_is_at_once(app: Application):
    made = await app.run(create(), OFFICIAL)
    new = await app.run(IssueKey(subscriber_id=made["subscriber_id"]), OFFICIAL)
    assert new["key_id"] != made["key_id"]
    await authenticate(app, made["api_key"])
    await authenticate(app, new["api_key"])
    revoked = await app.run(RevokeKey(subscriber_id=made["subscriber_id"], key_id=made["key_id"]), OFFICIAL)
    assert revoked["revoked_at"] is not None
    with pytest.raises(Unauthorized):
        await authenticate(app, made["api_key"])
    await authenticate(app, new["api_key"])
    with pytest.raises(NotFound):  # a key of another subscriber is not this one's
        other = await app.run(create(), OFFICIAL)
        await app.run(RevokeKey(subscriber_id=other["subscriber_id"], key_id=new["key_id"]), OFFICIAL)
    assert [c for c, _, _ in await audited(app)].count("subscriber.key.revoke") == 1


async def test_a_disabled_subscriber_is_refused_at_once_with_every_key_and_its_client(app: Application):
    made = await app.run(create(oauth_client_id="dong-ve-feed"), OFFICIAL)
    assert (await app.run(AuthenticateClient(oauth_client_id="dong-ve-feed"), SYSTEM))["key_id"] is None
    disabled = await app.run(DisableSubscriber(subscriber_id=made["subscriber_id"]), OFFICIAL)
    assert disabled["status"] == "disabled" and disabled["disabled_at"] is not None
    with pytest.raises(Unauthorized):
        await authenticate(app, made["api_key"])
    with pytest.raises(Unauthorized):
        await app.run(AuthenticateClient(oauth_client_id="dong-ve-feed"), SYSTEM)
    with pytest.raises(Unauthorized):
        await app.run(AuthenticateClient(oauth_client_id="nobody"), SYSTEM)
    with pytest.raises(RuleViolation):
        await app.run(IssueKey(subscriber_id=made["subscriber_id"]), OFFICIAL)


# -- the feed: appends and filters -----------------------------------------------------------------------------------
async def test_each_public_event_is_appended_once_in_order(app: Application):
    events = [team_formed(n=1), group_created(n=2), team_formed(n=3)]
    await append(app, *events, events[0], events[1])  # redeliveries, republishing
    made = await app.run(create(), OFFICIAL)
    rows = await read(app, made)
    assert [r["event_id"] for r in rows] == [e.id for e in events]
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
    assert [r["event_id"] for r in await read(app, made, after=rows[0]["seq"], limit=1)] == [events[1].id]
    ce = domain.cloud_event(rows[0])
    assert ce["type"] == TEAM_TYPE and ce["wardid"] == WARD and ce["source"] == "urn:ward-platform:registry"
    assert ce["data"]["team_id"] == "team-1" and ce["id"] == str(events[0].id)


async def test_a_subscriber_sees_its_wards_and_types_and_a_query_only_narrows(app: Application):
    await append(app, team_formed(WARD, 1), group_created(WARD, 2), team_formed(OTHER_WARD, 3),
                 team_formed("xuan-phu", 4))
    only_teams = await app.run(create([WARD, OTHER_WARD], event_types=[TEAM_TYPE]), CITY)
    both = await app.run(create([WARD, OTHER_WARD]), CITY)
    assert [r["subject"] for r in await read(app, only_teams)] == ["team-1", "team-3"]
    assert [r["subject"] for r in await read(app, both)] == ["team-1", "group-2", "team-3"]
    assert [r["subject"] for r in await read(app, both, wards=[OTHER_WARD])] == ["team-3"]
    assert [r["subject"] for r in await read(app, both, wards=["xuan-phu"])] == []  # never widened
    assert [r["subject"] for r in await read(app, only_teams, types=["public.registry.group.created.v1"])] == []
    assert [r["subject"] for r in await read(app, both, types=["public.registry.group.created.v1"])] == ["group-2"]


def test_cursors_are_opaque_versioned_and_refused_when_malformed():
    assert domain.decode_cursor(domain.encode_cursor(42)) == 42
    assert domain.decode_cursor(None) == 0
    for bad in ("x", "dj86MQ", domain.encode_cursor(1)[:-1] + "!", "djI6MQ"):  # v1:-, v2:1
        with pytest.raises(InvalidInput):
            domain.decode_cursor(bad)
