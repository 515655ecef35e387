"""The identity service's rules as specifications, run over the in-memory unit of work and over PostgreSQL alike
(``app`` is parametrised ``fake`` / ``postgres``): who may create accounts with which roles (no escalation), a
password set once with a one-time reset code, sign-in with every outcome audited and no account enumeration,
lockout, the second factor (enrolled at reset, required, codes not reused), refresh rotation and reuse detection."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher

from services.identity import credentials, domain
from services.identity.commands import (
    AnnounceAccounts,
    ChangeRoles,
    CreateAccount,
    DisableAccount,
    IssueResetCode,
    Refresh,
    SetPassword,
    SignIn,
    SignOut,
)
from shared.actor import ALL_WARDS, SYSTEM, Principal, Role
from shared.application import Application
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.application import audited
from tests.identity.conftest import OTHER_WARD, WARD
from tests.identity.fakes import TEST_TOTP_SEALER

OFFICIAL = Principal("official-1", frozenset({Role.WARD_OFFICIAL}), WARD)
ELSEWHERE = Principal("official-dv", frozenset({Role.WARD_OFFICIAL}), OTHER_WARD)
CITY = Principal("city-1", frozenset({Role.CITY_OFFICIAL}), ALL_WARDS)
RESIDENT = Principal("resident-1", frozenset({Role.RESIDENT}), WARD)
ANONYMOUS = Principal("public", frozenset(), "-")
PASSWORD = "correct horse battery staple"


def resident(username: str = "lan.nguyen", **overrides: Any) -> CreateAccount:
    return CreateAccount(**{"ward_id": WARD, "username": username, "display_name": "Nguyễn Thị Lan",
                            "roles": ["resident"], "resident_id": "res-1", "household_id": "hh-1", **overrides})


async def account_with_password(app: Application, cmd: CreateAccount | None = None, actor: Principal = OFFICIAL
                                ) -> tuple[dict[str, Any], dict[str, Any]]:
    cmd = cmd or resident()
    created = await app.run(cmd, actor)
    result = await app.run(SetPassword(username=cmd.username, reset_code=created["reset_code"],
                                       new_password=PASSWORD), ANONYMOUS)
    return created["account"], result


async def sign_in(app: Application, username: str = "lan.nguyen", password: str = PASSWORD,
                  code: str | None = None) -> dict[str, Any]:
    return await app.run(SignIn(username=username, password=password, code=code), ANONYMOUS)


async def account(app: Application, account_id: str) -> dict[str, Any]:
    async with app.read() as uow:
        return await uow.accounts.get(account_id)


async def test_an_official_creates_a_residents_account_whose_holder_sets_a_password_and_signs_in(app):
    created = await app.run(resident(), OFFICIAL)
    assert created["account"]["roles"] == ["resident"] and created["account"]["password_set"] is False
    assert len(created["reset_code"]) >= 20
    assert (await sign_in(app))["outcome"] == "failed"  # no password yet
    result = await app.run(SetPassword(username="Lan.Nguyen", reset_code=created["reset_code"],
                                       new_password=PASSWORD), ANONYMOUS)
    assert result == {"password_set": True, "second_factor": None}
    session = await sign_in(app, "LAN.NGUYEN")  # names are compared without case
    assert session["outcome"] == "signed_in" and session["amr"] == ["pwd"]
    assert session["claims"] == {"sub": created["account"]["account_id"], "roles": ["resident"], "ward": WARD,
                                 "name": "Nguyễn Thị Lan", "resident_id": "res-1", "household_id": "hh-1"}
    stored = await account(app, created["account"]["account_id"])
    assert stored["password_hash"].startswith("$argon2id$") and PASSWORD not in stored["password_hash"]
    commands = [c for c, _, _ in await audited(app)]
    assert commands == ["account.create", "session.sign-in", "account.password.set", "session.sign-in"]


async def test_a_reset_code_is_used_once_and_a_new_one_voids_the_old(app):
    created = await app.run(resident(), OFFICIAL)
    first = created["reset_code"]
    second = (await app.run(IssueResetCode(account_id=created["account"]["account_id"]), OFFICIAL))["reset_code"]
    with pytest.raises(InvalidInput):
        await app.run(SetPassword(username="lan.nguyen", reset_code=first, new_password=PASSWORD), ANONYMOUS)
    await app.run(SetPassword(username="lan.nguyen", reset_code=second, new_password=PASSWORD), ANONYMOUS)
    with pytest.raises(InvalidInput):
        await app.run(SetPassword(username="lan.nguyen", reset_code=second, new_password="another long password"),
                      ANONYMOUS)
    other = await app.run(resident("minh.tran", resident_id="res-2"), OFFICIAL)
    with pytest.raises(InvalidInput):  # a code opens its own account only
        await app.run(SetPassword(username="lan.nguyen", reset_code=other["reset_code"], new_password=PASSWORD),
                      ANONYMOUS)
    with pytest.raises(InvalidInput):  # too short
        await app.run(SetPassword(username="minh.tran", reset_code=other["reset_code"], new_password="short"),
                      ANONYMOUS)


@pytest.mark.parametrize("roles", [["police"], ["ward_official"], ["admin"], ["city_official"]])
async def test_a_ward_official_grants_no_role_beyond_the_wards_people(app, roles):
    with pytest.raises(Forbidden):
        await app.run(CreateAccount(ward_id=WARD, username="x.y", display_name="X", roles=roles), OFFICIAL)


async def test_who_creates_accounts_where(app):
    with pytest.raises(Forbidden):  # another ward
        await app.run(resident(), ELSEWHERE)
    with pytest.raises(Forbidden):  # a resident manages nobody
        await app.run(resident(), RESIDENT)
    created = await app.run(CreateAccount(ward_id=WARD, username="hoa.le", display_name="Lê Hoa",
                                          roles=["ward_official"]), CITY)
    assert created["account"]["roles"] == ["ward_official"]
    with pytest.raises(InvalidInput):  # every ward only for city officials and admins
        await app.run(CreateAccount(ward_id=ALL_WARDS, username="p.q", display_name="P", roles=["police"]), CITY)
    with pytest.raises(InvalidInput):  # a resident is bound to a resident and household
        await app.run(resident("no.binding", resident_id=None), OFFICIAL)
    with pytest.raises(InvalidInput):  # other wards' systems are OAuth clients, never accounts
        await app.run(CreateAccount(ward_id=WARD, username="feed.x", display_name="F", roles=["feed_subscriber"]),
                      Principal("admin-1", frozenset({Role.ADMIN}), ALL_WARDS))
    with pytest.raises(Conflict):  # names are unique without case
        await app.run(resident("HOA.LE"), OFFICIAL)


async def test_role_changes_are_audited_and_never_escalate(app):
    created = await app.run(resident(), OFFICIAL)
    account_id = created["account"]["account_id"]
    changed = await app.run(ChangeRoles(account_id=account_id, roles=["resident", "team_leader"],
                                        team_ids=["team-1"]), OFFICIAL)
    assert changed["roles"] == ["resident", "team_leader"] and changed["team_ids"] == ["team-1"]
    assert ("account.roles.change", "account", account_id) in await audited(app)
    with pytest.raises(Forbidden):
        await app.run(ChangeRoles(account_id=account_id, roles=["police"]), OFFICIAL)
    with pytest.raises(NotFound):  # another ward's account answers as one that does not exist
        await app.run(ChangeRoles(account_id=account_id, roles=["resident"]), ELSEWHERE)
    police = await app.run(CreateAccount(ward_id=WARD, username="cong.an", display_name="Công an",
                                         roles=["police"]), CITY)
    with pytest.raises(Forbidden):  # a ward official cannot take over (reset) a police account
        await app.run(IssueResetCode(account_id=police["account"]["account_id"]), OFFICIAL)
    me = Principal(account_id, frozenset({Role.WARD_OFFICIAL}), WARD)
    with pytest.raises(Forbidden):  # nobody manages their own account
        await app.run(ChangeRoles(account_id=account_id, roles=["resident"], team_ids=[]), me)


async def test_a_failed_sign_in_says_the_same_whatever_failed_and_is_audited(app):
    acc, _ = await account_with_password(app)
    wrong = await sign_in(app, password="not the password at all")
    unknown = await sign_in(app, username="nobody.here")
    assert wrong == unknown == {"outcome": "failed"}
    trail = await audited(app)
    assert trail[-2:] == [("session.sign-in", "account", acc["account_id"]), ("session.sign-in", "account", "-")]
    assert (await account(app, acc["account_id"]))["failed_attempts"] == 1


async def test_failures_in_a_row_lock_the_account_for_longer_each_time(app):
    acc, _ = await account_with_password(app)
    for _ in range(domain.LOCK_AFTER):
        assert (await sign_in(app, password="wrong wrong wrong"))["outcome"] == "failed"
    locked = await account(app, acc["account_id"])
    assert locked["locked_until"] is not None and locked["lockouts"] == 1
    assert (await sign_in(app))["outcome"] == "failed"  # even the right password, while locked
    assert domain.lock_period(1) < domain.lock_period(2) < domain.lock_period(30) == domain.LONGEST_LOCK


async def test_an_official_signs_in_with_a_second_factor_whose_codes_are_not_reused(app):
    cmd = CreateAccount(ward_id=WARD, username="hoa.le", display_name="Lê Hoa", roles=["ward_official"])
    acc, result = await account_with_password(app, cmd, CITY)
    enrolment = result["second_factor"]
    assert enrolment["provisioning_uri"].startswith("otpauth://totp/") and enrolment["secret"]
    stored = await account(app, acc["account_id"])
    assert enrolment["secret"].encode() not in bytes(stored["totp_secret"])
    assert credentials.unseal_totp(TEST_TOTP_SEALER, acc["account_id"], stored["totp_secret"]) == enrolment["secret"]
    assert await sign_in(app, "hoa.le") == {"outcome": "second_factor_required"}
    assert (await sign_in(app, "hoa.le", code="000000" if pyotp.TOTP(enrolment["secret"]).now() != "000000"
                          else "111111"))["outcome"] == "failed"
    code = pyotp.TOTP(enrolment["secret"]).now()
    session = await sign_in(app, "hoa.le", code=code)
    assert session["outcome"] == "signed_in" and session["amr"] == ["pwd", "otp"]
    assert (await sign_in(app, "hoa.le", code=code))["outcome"] == "failed"  # the same code, again
    assert (await account(app, acc["account_id"]))["totp_confirmed"] is True


async def test_a_refresh_token_is_used_once_and_a_reused_one_ends_the_whole_sign_in(app):
    await account_with_password(app)
    first = (await sign_in(app))["refresh_token"]
    second = await app.run(Refresh(refresh_token=first), ANONYMOUS)
    assert second["outcome"] == "refreshed" and second["refresh_token"] != first
    assert await app.run(Refresh(refresh_token=first), ANONYMOUS) == {"outcome": "failed"}  # a copy was used
    assert await app.run(Refresh(refresh_token=second["refresh_token"]), ANONYMOUS) == {"outcome": "failed"}
    other = (await sign_in(app))["refresh_token"]  # another sign-in is not affected ...
    assert await app.run(SignOut(refresh_token=other), ANONYMOUS) == {"signed_out": True}
    assert await app.run(Refresh(refresh_token=other), ANONYMOUS) == {"outcome": "failed"}  # ... until signed out
    assert await app.run(Refresh(refresh_token="wrt_made-up"), ANONYMOUS) == {"outcome": "failed"}


async def test_a_role_change_reaches_the_next_refresh_and_a_disabled_account_ends_its_sessions(app):
    acc, _ = await account_with_password(app)
    token = (await sign_in(app))["refresh_token"]
    await app.run(ChangeRoles(account_id=acc["account_id"], roles=["resident", "team_member"], team_ids=["t-2"]),
                  OFFICIAL)
    refreshed = await app.run(Refresh(refresh_token=token), ANONYMOUS)
    assert refreshed["claims"]["roles"] == ["resident", "team_member"] and refreshed["claims"]["team_ids"] == ["t-2"]
    await app.run(DisableAccount(account_id=acc["account_id"]), OFFICIAL)
    assert await app.run(Refresh(refresh_token=refreshed["refresh_token"]), ANONYMOUS) == {"outcome": "failed"}
    assert (await sign_in(app))["outcome"] == "failed"


async def test_a_password_hashed_under_older_parameters_is_rehashed_at_the_next_sign_in(app):
    acc, _ = await account_with_password(app)
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024).hash(PASSWORD)
    async with app.uow() as uow:
        await uow.accounts.update(acc["account_id"], password_hash=weaker)
        await uow.commit("test.setup", SYSTEM)
    assert (await sign_in(app))["outcome"] == "signed_in"
    rehashed = (await account(app, acc["account_id"]))["password_hash"]
    assert rehashed != weaker and not PasswordHasher().check_needs_rehash(rehashed)


async def test_account_changes_are_published_with_ids_and_roles_only(app):
    """Create, a roles change and disabling each publish AccountChanged (the notify service's people): the ward,
    roles, resident and teams, never the username or the name."""
    from shared.contracts.identity import AccountChanged
    from tests.application import emitted

    created = await app.run(resident(), OFFICIAL)
    account_id = created["account"]["account_id"]
    await app.run(ChangeRoles(account_id=account_id, roles=["resident", "team_leader"], team_ids=["team-1"]), OFFICIAL)
    await app.run(DisableAccount(account_id=account_id), OFFICIAL)
    events = [e for e in await emitted(app) if isinstance(e, AccountChanged)]
    assert [(e.account_id, e.roles, e.team_ids, e.disabled) for e in events] == [
        (account_id, ["resident"], [], False), (account_id, ["resident", "team_leader"], ["team-1"], False),
        (account_id, ["resident", "team_leader"], ["team-1"], True)]
    assert all(e.resident_id == "res-1" and e.ward_id == WARD and e.subject == account_id for e in events)
    for e in events:
        assert "lan.nguyen" not in e.model_dump_json() and "Lan" not in e.model_dump_json()


async def test_an_administrator_announces_every_account_again_and_nobody_else_may(app):
    """``wardctl accounts announce``: every account's AccountChanged again (ward by ward or all), ids and roles only,
    audited; a ward or city official is refused (it would republish other people's roles)."""
    from shared.contracts.identity import AccountChanged
    from tests.application import emitted

    mine = (await app.run(resident(), OFFICIAL))["account"]["account_id"]
    theirs = (await app.run(resident("binh.tran", ward_id=OTHER_WARD), CITY))["account"]["account_id"]
    before = len([e for e in await emitted(app) if isinstance(e, AccountChanged)])
    admin = Principal("operator:ops", frozenset({Role.ADMIN}), ALL_WARDS)
    assert await app.run(AnnounceAccounts(ward_id=WARD), admin) == {"announced": 1, "ward_id": WARD}
    assert await app.run(AnnounceAccounts(), admin) == {"announced": 2, "ward_id": None}
    again = [e for e in await emitted(app) if isinstance(e, AccountChanged)][before:]
    assert [e.account_id for e in again] == [mine, mine, theirs]
    assert all(e.roles == ["resident"] and "lan.nguyen" not in e.model_dump_json() for e in again)
    assert ("accounts.announce", "accounts", WARD) in await audited(app)
    for refused in (OFFICIAL, CITY):
        with pytest.raises(Forbidden):
            await app.run(AnnounceAccounts(), refused)
