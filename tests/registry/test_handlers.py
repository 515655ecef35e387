"""The registry's use cases as handlers: every rule, on the in-memory unit of work and on PostgreSQL alike
(``params=["fake", "postgres"]``, tests/application.py). The HTTP suites next to this one check the wiring."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from functools import partial
from typing import Any

import pytest

from services.registry import handlers
from services.registry.commands import (
    AddMember,
    ChangeHousehold,
    ChangeRole,
    CreateGroup,
    DeclareAbsence,
    DecommissionFacility,
    EndTemporaryResidence,
    FormTeam,
    MoveResident,
    NotifyStay,
    RecordCheck,
    RegisterBoardingHouse,
    RegisterFacility,
    RegisterHousehold,
    RegisterResident,
    RegisterTemporaryResidence,
    RegisterWard,
    RemoveMember,
    RenewTemporaryResidence,
    UpdateResident,
)
from services.registry.consumers import camera_facility_id, on_expense_recorded
from services.registry.handlers_residence import expire_temporary_residences
from services.registry.uow import RegistryUnitOfWork
from shared import clock
from shared.actor import SYSTEM, Principal, Role
from shared.contracts.donations import CameraPurchase, ExpenseRecorded
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from shared.paging import PageRequest
from tests.application import applications, audited, emitted
from tests.registry.fakes import TEST_PII, FakeRegistryUnitOfWork

WARD, OTHER_WARD = "phu-son", "dong-ve"
NATIONAL_ID = "038090001234"


def actor(role: Role, ward: str = WARD, **claims: Any) -> Principal:
    return Principal(f"{role}-1", frozenset({role}), ward, **claims)


ADMIN = Principal("admin-1", frozenset({Role.ADMIN}), "*")
OFFICIAL = actor(Role.WARD_OFFICIAL)
POLICE = actor(Role.POLICE)


@pytest.fixture(params=["fake", "postgres"])
async def app(request: pytest.FixtureRequest):
    async with applications(request, "registry", FakeRegistryUnitOfWork, partial(RegistryUnitOfWork, pii=TEST_PII),
                            handlers.HANDLERS) as application:
        yield application


# -- builders: each test sets up its own situation ------------------------------------------------------------
async def ward(app, ward_id: str = WARD) -> None:
    await app.run(RegisterWard(ward_id=ward_id, name=f"Phường {ward_id}", city="Thanh Hóa"), ADMIN)


async def group(app, ward_id: str = WARD, name: str = "Tổ dân phố Trần Phú") -> str:
    return (await app.run(CreateGroup(ward_id=ward_id, name=name), actor(Role.WARD_OFFICIAL, ward_id)))["group_id"]


async def household(app, group_id: str, ward_id: str = WARD) -> str:
    cmd = RegisterHousehold(group_id=group_id, address=f"{uuid.uuid4().hex[:4]} Trần Phú")
    return (await app.run(cmd, actor(Role.WARD_OFFICIAL, ward_id)))["household_id"]


async def resident(app, household_id: str, name: str = "Nguyễn Văn An", sex: str = "male",
                   ward_id: str = WARD, **extra: Any) -> dict:
    cmd = RegisterResident(household_id=household_id, full_name=name, sex=sex, **extra)
    return await app.run(cmd, actor(Role.WARD_OFFICIAL, ward_id))


async def people(app, n: int = 1, **kw: Any) -> tuple[str, str, list[dict]]:
    """A ward with a group, a household and ``n`` residents."""
    await ward(app)
    gid = await group(app)
    hid = await household(app, gid)
    return gid, hid, [await resident(app, hid, f"Cư dân {i}", "female" if i % 2 else "male", **kw) for i in range(n)]


async def events(app) -> list:
    """What the commands emitted, without the public copies the outbox adds for the public feed."""
    return [e for e in await emitted(app) if not e.event_type.startswith("public.")]


def types(events: list) -> list[str]:
    return [e.event_type for e in events]


# -- wards, groups, households, residents ---------------------------------------------------------------------
async def test_a_ward_is_registered_once_by_an_admin_or_city_official(app) -> None:
    reply = await app.handle(RegisterWard(ward_id=WARD, name="Phường Phú Sơn", city="Thanh Hóa"), ADMIN)
    assert reply.created and reply.json() == {"ward_id": WARD, "name": "Phường Phú Sơn", "city": "Thanh Hóa"}
    with pytest.raises(Conflict):
        await app.run(RegisterWard(ward_id=WARD, name="X", city="Y"), ADMIN)
    with pytest.raises(Forbidden):
        await app.run(RegisterWard(ward_id="ba-dinh", name="X", city="Y"), OFFICIAL)
    assert types(await events(app)) == ["registry.ward.registered.v1"]
    assert await audited(app) == [("ward.register", "ward", WARD)]


async def test_a_group_shows_how_many_households_it_has(app) -> None:
    await ward(app)
    gid = await group(app)
    other = await group(app, name="Tổ dân phố Lê Lợi")
    with pytest.raises(Conflict):  # group names are unique within a ward
        await group(app)
    for _ in range(3):
        await household(app, gid)
    async with app.read() as uow:
        assert (await uow.groups.get(gid))["household_count"] == 3
        listed = await uow.groups.page_of_ward(WARD, PageRequest(50, None))
    assert [(g["name"], g["household_count"]) for g in listed["items"]] == [
        ("Tổ dân phố Lê Lợi", 0), ("Tổ dân phố Trần Phú", 3)]
    assert listed["items"][0]["group_id"] == other and listed["next_cursor"] is None


async def test_the_national_id_is_encrypted_checked_per_ward_and_never_in_events_or_the_audit(app) -> None:
    _, hid, _ = await people(app, 0)
    made = await resident(app, hid, "Lê Thị Hoa", "female", national_id=NATIONAL_ID)
    assert made["national_id"] == NATIONAL_ID and made["has_national_id"]
    async with app.read() as uow:
        row = await uow.residents.get(made["resident_id"])
    assert NATIONAL_ID.encode() not in bytes(row["national_id_cipher"]) and NATIONAL_ID not in row["national_id_index"]
    with pytest.raises(Conflict) as dup:
        await resident(app, hid, "X", national_id=NATIONAL_ID)
    assert NATIONAL_ID not in dup.value.detail
    with pytest.raises(InvalidInput) as bad:
        await resident(app, hid, "Y", national_id="12345")
    assert "12345" not in bad.value.detail
    # another ward's register is not consulted: the same number registers there
    await ward(app, OTHER_WARD)
    theirs = await household(app, await group(app, OTHER_WARD), OTHER_WARD)
    assert (await resident(app, theirs, "Z", ward_id=OTHER_WARD, national_id=NATIONAL_ID))["has_national_id"]
    # a later change of the number is audited by name only
    await app.run(UpdateResident(resident_id=made["resident_id"], national_id="038090009999", phone="0912"), OFFICIAL)
    async with app.read() as uow:
        assert await uow.residents.national_id_taken(WARD, TEST_PII.blind_index_candidates(
            "038090009999", "national_id"))
    published = await emitted(app)  # public copies included
    assert all(NATIONAL_ID not in e.model_dump_json() for e in published)
    probe = app.uow()
    if isinstance(probe, FakeRegistryUnitOfWork):
        changed = [e.details for c, _, e in probe.audit_log if c == "resident.update"]
        assert changed == [{"changed": ["national_id", "phone"]}]


async def test_records_of_another_ward_answer_as_unknown_ones(app) -> None:
    _, our_house, [ours] = await people(app)
    await ward(app, OTHER_WARD)
    their_group = await group(app, OTHER_WARD)
    their_house = await household(app, their_group, OTHER_WARD)
    theirs = await resident(app, their_house, ward_id=OTHER_WARD)
    nobody = str(uuid.uuid4())
    for target in (their_group, nobody):  # a body's reference: 422, the same words for both
        with pytest.raises(InvalidInput, match=f"group_id: unknown group {target}"):
            await app.run(RegisterHousehold(group_id=target, address="1"), OFFICIAL)
    for target in (theirs["resident_id"], nobody):  # a path's record: 404, the same words for both
        with pytest.raises(NotFound, match=f"unknown resident {target}"):
            await app.run(UpdateResident(resident_id=target, phone="1"), OFFICIAL)
    with pytest.raises(InvalidInput, match="head_resident_id: unknown resident"):
        await app.run(ChangeHousehold(household_id=our_house, head_resident_id=theirs["resident_id"]), OFFICIAL)
    with pytest.raises(InvalidInput, match="household_id: unknown household"):
        await app.run(MoveResident(resident_id=ours["resident_id"], household_id=their_house), OFFICIAL)


async def test_only_registrars_keep_the_register(app) -> None:
    gid, hid, [me] = await people(app)
    myself = actor(Role.RESIDENT, household_id=hid, resident_id=me["resident_id"])
    for cmd in (RegisterHousehold(group_id=gid, address="1"), RegisterResident(household_id=hid, full_name="Z", sex="male"),
                UpdateResident(resident_id=me["resident_id"], phone="1"), CreateGroup(ward_id=WARD, name="T")):
        with pytest.raises(Forbidden):
            await app.run(cmd, myself)


async def test_the_head_of_a_household_is_one_of_its_members_and_must_be_replaced_before_moving(app) -> None:
    gid, hid, [head, other] = await people(app, 2)
    elsewhere = await household(app, gid)
    stranger = await resident(app, elsewhere, "Người khác")
    with pytest.raises(InvalidInput, match="member of it"):
        await app.run(ChangeHousehold(household_id=hid, head_resident_id=stranger["resident_id"]), OFFICIAL)
    with pytest.raises(InvalidInput, match="nothing to change"):
        await app.run(ChangeHousehold(household_id=hid), OFFICIAL)
    changed = await app.run(ChangeHousehold(household_id=hid, head_resident_id=head["resident_id"]), OFFICIAL)
    assert changed["head_resident_id"] == head["resident_id"] and changed["household_id"] == hid
    await app.run(ChangeHousehold(household_id=hid, address="5 Trần Phú"), OFFICIAL)  # no new head, no event
    with pytest.raises(Conflict, match="heads their household"):
        await app.run(MoveResident(resident_id=head["resident_id"], household_id=elsewhere), OFFICIAL)
    with pytest.raises(InvalidInput, match="already lives"):
        await app.run(MoveResident(resident_id=other["resident_id"], household_id=hid), OFFICIAL)
    moved = await app.run(MoveResident(resident_id=other["resident_id"], household_id=elsewhere), POLICE)
    assert moved["household_id"] == elsewhere
    assert types(await events(app))[-2:] == ["registry.household.head_changed.v1", "registry.resident.moved.v1"]


async def test_a_residents_name_and_sex_cannot_be_removed_and_only_their_change_is_announced(app) -> None:
    _, _, [me] = await people(app)
    rid = me["resident_id"]
    with pytest.raises(InvalidInput, match="cannot be removed"):
        await app.run(UpdateResident(resident_id=rid, full_name=None), OFFICIAL)
    with pytest.raises(InvalidInput, match="nothing to change"):
        await app.run(UpdateResident(resident_id=rid), OFFICIAL)
    before = len(await events(app))
    assert (await app.run(UpdateResident(resident_id=rid, phone="0912"), OFFICIAL))["phone"] == "0912"
    assert (await app.run(UpdateResident(resident_id=rid, phone=None), OFFICIAL))["phone"] is None  # removed
    assert len(await events(app)) == before
    renamed = await app.run(UpdateResident(resident_id=rid, full_name="Tên mới"), OFFICIAL)
    assert renamed["full_name"] == "Tên mới" and types(await events(app))[-1] == "registry.resident.updated.v1"


async def test_residents_page_by_name_and_a_resident_lists_only_their_household(app) -> None:
    gid, hid, mine = await people(app, 2)
    other = await household(app, gid)
    for name in ("Bùi", "An", "Cao"):
        await resident(app, other, name)
    async with app.read() as uow:
        first = await uow.residents.page_of_ward(WARD, group_id=gid, household_ids=[], page=PageRequest(3, None))
        rest = await uow.residents.page_of_ward(WARD, group_id=gid, household_ids=[],
                                                page=PageRequest(3, first["next_cursor"]))
        own = await uow.residents.page_of_ward(WARD, group_id=None, household_ids=[hid], page=PageRequest(50, None))
        members = await uow.residents.of_household(other)
    names = [r["full_name"] for r in first["items"] + rest["items"]]
    assert names == sorted(names) and len(names) == 5 and rest["next_cursor"] is None
    assert all(r["group_id"] == gid for r in first["items"])
    assert sorted(r["resident_id"] for r in own["items"]) == sorted(r["resident_id"] for r in mine)
    assert [m["full_name"] for m in members] == ["Bùi", "An", "Cao"]  # in order of registration


# -- teams ------------------------------------------------------------------------------------------------------
async def test_a_mediation_team_is_flagged_until_it_has_a_leader_three_mediators_and_a_woman(app) -> None:
    gid, _, [leader, woman, third] = await people(app, 3)
    team = await app.run(FormTeam(group_id=gid, kind="mediation", name="Tổ hòa giải", formed_on=date(2024, 1, 15),
                                  formation_act="QĐ 12"), OFFICIAL)
    tid = team["team_id"]
    assert team["compliant"] is False and team["compliance_issues"] == [
        "no leader", "fewer than 3 mediators (0)", "no woman among the mediators"]
    assert team["compliance"] == [{"code": "no_leader", "message": "no leader"},
                                  {"code": "too_few_mediators", "message": "fewer than 3 mediators (0)",
                                   "minimum": 3, "active": 0},
                                  {"code": "no_woman_mediator", "message": "no woman among the mediators"}]
    for person, role in ((leader, "leader"), (woman, "member"), (third, "deputy")):
        after = await app.run(AddMember(team_id=tid, resident_id=person["resident_id"], role=role,
                                        appointed_on=date(2024, 2, 1)), OFFICIAL)
    assert after["compliant"] is True and after["compliance"] == [] and [m["full_name"] for m in after["members"]] == ["Cư dân 0", "Cư dân 1",
                                                                                       "Cư dân 2"]
    left = await app.run(RemoveMember(team_id=tid, resident_id=woman["resident_id"], left_on=date(2024, 6, 1)),
                         OFFICIAL)
    assert left["compliance_issues"] == ["fewer than 3 mediators (2)", "no woman among the mediators"]
    assert [(i["code"], i.get("minimum"), i.get("active")) for i in left["compliance"]] == [
        ("too_few_mediators", 3, 2), ("no_woman_mediator", None, None)]
    team_events = [e for e in await events(app) if e.topic == "registry.teams"]
    assert [(e.event_type.split(".")[2], e.compliant) for e in team_events] == [
        ("formed", False), ("member_joined", False), ("member_joined", False), ("member_joined", True),
        ("member_left", False)]
    assert team_events[2].sex == "female" and team_events[1].role == "leader"
    assert (await audited(app))[-1] == ("team.member.leave", "team", tid)
    async with app.read() as uow:
        history = await uow.teams.members_page(tid, None, PageRequest(2, None))
        rest = await uow.teams.members_page(tid, None, PageRequest(2, history["next_cursor"]))
        gone = await uow.teams.members_page(tid, False, PageRequest(50, None))
    assert [m["resident_id"] for m in history["items"] + rest["items"]] == [
        p["resident_id"] for p in (leader, woman, third)]
    assert [m["resident_id"] for m in gone["items"]] == [woman["resident_id"]]
    assert gone["items"][0]["left_on"] is not None


async def test_membership_mistakes_are_refused_and_change_nothing(app) -> None:
    gid, _, [a, b] = await people(app, 2)
    await ward(app, OTHER_WARD)
    outsider = await resident(app, await household(app, await group(app, OTHER_WARD), OTHER_WARD), ward_id=OTHER_WARD)
    tid = (await app.run(FormTeam(group_id=gid, kind="anxh", name="Tổ ANXH", formed_on=date(2024, 1, 15),
                                  formation_act="QĐ 1"), OFFICIAL))["team_id"]
    await app.run(AddMember(team_id=tid, resident_id=a["resident_id"], role="leader", appointed_on=date(2024, 2, 1)),
                  OFFICIAL)
    before = len(await events(app))

    def add(rid: str, role: str = "member", on: date = date(2024, 2, 1)) -> AddMember:
        return AddMember(team_id=tid, resident_id=rid, role=role, appointed_on=on)

    for cmd, error in [
        (add(a["resident_id"]), Conflict),                       # added twice
        (add(b["resident_id"], "leader"), Conflict),             # a second leader
        (add(outsider["resident_id"]), InvalidInput),            # another ward's resident
        (add(str(uuid.uuid4())), InvalidInput),                  # unknown
        (add(b["resident_id"], on=date(2023, 12, 31)), InvalidInput),  # before the team was formed
        (ChangeRole(team_id=tid, resident_id=a["resident_id"], role="leader", changed_on=date(2024, 3, 1)),
         InvalidInput),                                          # the same role
        (ChangeRole(team_id=tid, resident_id=a["resident_id"], role="member", changed_on=date(2024, 1, 1)),
         InvalidInput),                                          # before the appointment
        (ChangeRole(team_id=tid, resident_id=b["resident_id"], role="member", changed_on=date(2024, 3, 1)),
         NotFound),                                              # not a member
        (RemoveMember(team_id=tid, resident_id=a["resident_id"], left_on=date(2024, 1, 31)), InvalidInput),
    ]:
        with pytest.raises(error):
            await app.run(cmd, OFFICIAL)
    assert len(await events(app)) == before
    async with app.read() as uow:
        assert [m["resident_id"] for m in await uow.teams.active_members(tid)] == [a["resident_id"]]


async def test_a_team_leader_manages_their_own_team_only(app) -> None:
    gid, _, [leader, newcomer] = await people(app, 2)

    async def form(name: str) -> str:
        return (await app.run(FormTeam(group_id=gid, kind="fire_prevention", name=name, formed_on=date(2024, 1, 1),
                                       formation_act="QĐ 2"), OFFICIAL))["team_id"]

    mine, other = await form("PCCC 1"), await form("PCCC 2")
    me = actor(Role.TEAM_LEADER, team_ids=frozenset({mine}), resident_id=leader["resident_id"])
    with pytest.raises(Forbidden):
        await app.run(FormTeam(group_id=gid, kind="anxh", name="X", formed_on=date(2024, 1, 1), formation_act="Q"), me)
    add = {"resident_id": newcomer["resident_id"], "role": "deputy", "appointed_on": date(2024, 3, 1)}
    with pytest.raises(Forbidden):
        await app.run(AddMember(team_id=other, **add), me)
    await app.run(AddMember(team_id=mine, **add), me)
    changed = await app.run(ChangeRole(team_id=mine, resident_id=newcomer["resident_id"], role="member",
                                       changed_on=date(2024, 4, 1), appointment_act="QĐ 9"), me)
    assert [(m["role"], m["appointment_act"]) for m in changed["members"]] == [("member", "QĐ 9")]
    assert (await events(app))[-1].previous_role == "deputy"
    with pytest.raises(NotFound):  # another ward's leader: the team does not exist for them
        await app.run(AddMember(team_id=mine, **add), actor(Role.TEAM_LEADER, OTHER_WARD, team_ids=frozenset({mine})))


async def test_a_team_leader_registers_and_declares_in_the_groups_of_their_teams_only(app) -> None:
    gid, hid, [leader, neighbour] = await people(app, 2)
    other_gid = await group(app, name="Tổ dân phố Lê Lợi")
    other_hid = await household(app, other_gid)
    team = (await app.run(FormTeam(group_id=gid, kind="anxh", name="ANXH 1", formed_on=date(2024, 1, 1),
                                   formation_act="QĐ 1"), OFFICIAL))["team_id"]
    me = actor(Role.TEAM_LEADER, team_ids=frozenset({team}), resident_id=leader["resident_id"])
    made = await app.run(RegisterHousehold(group_id=gid, address="9 Trần Phú"), me)
    assert made["group_id"] == gid
    newcomer = await app.run(RegisterResident(household_id=made["household_id"], full_name="Lê Thị Mới", sex="female"),
                             me)
    assert "national_id" not in newcomer or newcomer["national_id"] is None
    absence = {"case": "military_age", "absent_from": "2026-01-01", "absent_until": "2026-05-01", "destination": "Huế"}
    assert (await app.run(DeclareAbsence(resident_id=neighbour["resident_id"], **absence), me))["group_id"] == gid
    other = await resident(app, other_hid, "Ở tổ khác")
    for cmd in (RegisterHousehold(group_id=other_gid, address="1 Lê Lợi"),
                RegisterResident(household_id=other_hid, full_name="Z", sex="male"),
                RegisterResident(household_id=hid, full_name="Z", sex="male", national_id=NATIONAL_ID),
                DeclareAbsence(resident_id=other["resident_id"], **absence)):
        with pytest.raises(Forbidden):
            await app.run(cmd, me)
    with pytest.raises(Forbidden):  # a member is not the leader
        await app.run(RegisterHousehold(group_id=gid, address="2"), actor(Role.TEAM_MEMBER, team_ids=frozenset({team})))


async def test_a_resident_declares_their_own_absence_and_no_one_elses(app) -> None:
    _, hid, [me, sister] = await people(app, 2)
    myself = actor(Role.RESIDENT, household_id=hid, resident_id=me["resident_id"])
    absence = {"case": "other", "absent_from": "2026-01-01", "absent_until": "2027-02-01", "destination": "Huế"}
    assert (await app.run(DeclareAbsence(resident_id=me["resident_id"], **absence), myself))["kind"] == "absence"
    with pytest.raises(Forbidden):
        await app.run(DeclareAbsence(resident_id=sister["resident_id"], **absence), myself)


async def test_teams_list_in_kind_and_name_order(app) -> None:
    gid, _, _ = await people(app, 0)
    for kind, name in (("mobilisation", "B"), ("anxh", "Z"), ("mobilisation", "A")):
        await app.run(FormTeam(group_id=gid, kind=kind, name=name, formed_on=date(2024, 1, 1), formation_act="Q"),
                      OFFICIAL)
    async with app.read() as uow:
        first = await uow.teams.page_of_ward(WARD, None, None, PageRequest(2, None))
        rest = await uow.teams.page_of_ward(WARD, None, None, PageRequest(2, first["next_cursor"]))
        everyone = await uow.teams.page_of_ward(WARD, gid, "mobilisation", None)
    assert [(t["kind"], t["name"]) for t in first["items"] + rest["items"]] == [
        ("anxh", "Z"), ("mobilisation", "A"), ("mobilisation", "B")]
    assert [t["name"] for t in everyone["items"]] == ["A", "B"] and everyone["next_cursor"] is None


# -- facilities and boarding houses ------------------------------------------------------------------------------
async def test_a_facility_is_decommissioned_once_and_not_before_it_was_installed(app) -> None:
    gid, _, _ = await people(app, 0)
    with pytest.raises(Forbidden):
        await app.run(RegisterFacility(group_id=gid, kind="fire_point", name="x", location="y"),
                      actor(Role.RESIDENT))
    camera = await app.run(RegisterFacility(group_id=gid, kind="security_camera", name="Camera chợ", location="Chợ",
                                            installed_on=date(2024, 5, 1), funded_by_campaign_id="c-9"), POLICE)
    fid = camera["facility_id"]
    assert camera["decommissioned_on"] is None and camera["funded_by_expense_id"] is None
    with pytest.raises(InvalidInput, match="before the facility was installed"):
        await app.run(DecommissionFacility(facility_id=fid, decommissioned_on=date(2024, 4, 30), reason="x"), OFFICIAL)
    done = await app.run(DecommissionFacility(facility_id=fid, decommissioned_on=date(2025, 1, 10), reason="sét"),
                         OFFICIAL)
    assert done["decommissioned_on"] == "2025-01-10" and done["decommission_reason"] == "sét"
    with pytest.raises(Conflict):
        await app.run(DecommissionFacility(facility_id=fid, decommissioned_on=date(2025, 1, 11), reason="x"), OFFICIAL)
    async with app.read() as uow:
        listed = await uow.facilities.page({"ward_id": WARD, "group_id": gid, "kind": "security_camera"},
                                           PageRequest(50, None))
    assert [f["facility_id"] for f in listed["items"]] == [fid]
    assert types(await events(app))[-2:] == ["registry.facility.registered.v1", "registry.facility.decommissioned.v1"]


async def test_cameras_bought_by_donations_are_registered_once_from_the_expense(app) -> None:
    gid, _, _ = await people(app, 0)
    expense = ExpenseRecorded(
        ward_id=WARD, subject="c-1", expense_id="e-7", campaign_id="c-1", group_id=gid, item="2 camera",
        amount_vnd=12_000_000, invoice_ref="HĐ 42",
        cameras=[CameraPurchase(name=f"Camera {i}", location=f"Ngõ {i}", group_id=gid) for i in (1, 2)])
    for _ in range(2):  # a redelivery changes nothing
        async with app.uow() as uow:
            await on_expense_recorded(expense, uow)
            await uow.commit("on registry test", SYSTEM)
    async with app.read() as uow:
        cameras = [await uow.facilities.get(camera_facility_id("e-7", i)) for i in (0, 1)]
    assert [c["funded_by_expense_id"] for c in cameras] == ["e-7", "e-7"]
    assert types(await events(app)).count("registry.facility.registered.v1") == 2
    bad = expense.model_copy(update={"cameras": [CameraPurchase(name="X", location="Y", group_id=str(uuid.uuid4()))]})
    with pytest.raises(ValueError, match="unknown group"):
        async with app.uow() as uow:
            await on_expense_recorded(bad, uow)


async def test_a_boarding_house_has_distinct_rooms_and_a_landlord_of_the_ward_and_only_police_check_it(app) -> None:
    gid, _, [landlord] = await people(app)

    def house(**kw: Any) -> RegisterBoardingHouse:
        return RegisterBoardingHouse(**{"group_id": gid, "name": "Nhà trọ A", "address": "3 Trần Phú",
                                        "landlord_resident_id": landlord["resident_id"], "rooms": ("1", "2"), **kw})

    for rooms in (("1", "1"), ("1", " ")):
        with pytest.raises(InvalidInput, match="rooms"):
            await app.run(house(rooms=rooms), OFFICIAL)
    with pytest.raises(InvalidInput, match="landlord_resident_id"):
        await app.run(house(landlord_resident_id=str(uuid.uuid4())), OFFICIAL)
    made = await app.run(house(rooms=(" 1", "2")), OFFICIAL)
    assert made["rooms"] == ["1", "2"]
    bid = made["boarding_house_id"]
    with pytest.raises(Forbidden):
        await app.run(RecordCheck(boarding_house_id=bid, checked_on=date(2024, 5, 2)), OFFICIAL)
    assert await app.run(RecordCheck(boarding_house_id=bid, checked_on=date(2024, 5, 2)), POLICE) == {
        "boarding_house_id": bid, "checked_on": "2024-05-02"}
    async with app.read() as uow:
        assert await uow.boarding_houses.not_checked_since(WARD, date(2024, 5, 3)) == [
            {"boarding_house_id": bid, "name": "Nhà trọ A", "group_id": gid, "last_checked_on": date(2024, 5, 2)}]
        assert await uow.boarding_houses.not_checked_since(WARD, date(2024, 5, 1)) == []


# -- residence declarations ------------------------------------------------------------------------------------
async def _lodging(app) -> tuple[str, dict, dict, str]:
    gid, _, [landlord, lodger] = await people(app, 2)
    house = await app.run(RegisterBoardingHouse(group_id=gid, name="Nhà trọ", address="12 ngõ 5",
                                                landlord_resident_id=landlord["resident_id"], rooms=("P101", "P102")),
                          OFFICIAL)
    return gid, landlord, lodger, house["boarding_house_id"]


async def test_temporary_residence_periods_overlaps_renewal_and_end(app) -> None:
    _, _, lodger, bid = await _lodging(app)
    rid = lodger["resident_id"]

    def register(start: str, end: str, **kw: Any) -> RegisterTemporaryResidence:
        return RegisterTemporaryResidence(resident_id=rid, valid_from=start, valid_until=end, **kw)

    decl = await app.run(register("2025-09-01", "2026-06-30", boarding_house_id=bid, room="P101"), POLICE)
    assert decl["status"] == "active" and decl["boarding_house_id"] == bid
    for cmd, error in [
        (register("2026-01-01", "2026-12-31"), Conflict),          # overlaps the first
        (register("2026-08-01", "2026-07-01"), InvalidInput),      # ends before it starts
        (register("2026-08-01", "2026-08-20"), RuleViolation),     # under 30 days
        (register("2026-08-01", "2028-08-02"), RuleViolation),     # over 2 years
        (register("2026-08-01", "2026-12-01", boarding_house_id=bid, room="P999"), InvalidInput),
    ]:
        with pytest.raises(error):
            await app.run(cmd, POLICE)
    with pytest.raises(Forbidden):
        await app.run(register("2026-08-01", "2026-12-01"), actor(Role.TEAM_LEADER))
    did = decl["declaration_id"]
    renewed = await app.run(RenewTemporaryResidence(declaration_id=did, valid_until=date(2027, 6, 30)), POLICE)
    assert renewed["valid_until"] == "2027-06-30"
    with pytest.raises(InvalidInput, match="later"):
        await app.run(RenewTemporaryResidence(declaration_id=did, valid_until=date(2027, 6, 30)), POLICE)
    with pytest.raises(InvalidInput, match="within"):
        await app.run(EndTemporaryResidence(declaration_id=did, ended_on=date(2028, 1, 1)), POLICE)
    assert (await app.run(EndTemporaryResidence(declaration_id=did, ended_on=date(2026, 12, 31)), POLICE))[
        "status"] == "ended"
    with pytest.raises(RuleViolation, match="ended"):
        await app.run(RenewTemporaryResidence(declaration_id=did, valid_until=date(2028, 1, 1)), POLICE)
    residence = [e for e in await events(app) if e.topic == "registry.residence"]
    assert types(residence) == ["registry.residence.temporary_registered.v1",
                                "registry.residence.temporary_renewed.v1", "registry.residence.temporary_ended.v1"]
    assert residence[1].previous_valid_until == date(2026, 6, 30)


async def test_a_renewal_may_not_reach_into_another_declaration(app) -> None:
    _, _, lodger, _ = await _lodging(app)
    rid = lodger["resident_id"]
    first = await app.run(RegisterTemporaryResidence(resident_id=rid, valid_from="2025-01-01",
                                                     valid_until="2025-06-30"), POLICE)
    await app.run(RegisterTemporaryResidence(resident_id=rid, valid_from="2025-08-01", valid_until="2025-12-31"),
                  POLICE)
    with pytest.raises(Conflict, match="renewed period overlaps"):
        await app.run(RenewTemporaryResidence(declaration_id=first["declaration_id"], valid_until="2025-09-01"),
                      POLICE)
    with pytest.raises(InvalidInput, match="not a temporary residence"):
        absence = await app.run(DeclareAbsence(resident_id=rid, case="other", absent_from="2027-01-01",
                                               absent_until="2028-02-01", destination="Hà Nội"), POLICE)
        await app.run(EndTemporaryResidence(declaration_id=absence["declaration_id"], ended_on="2027-02-01"), POLICE)


async def test_temporary_absence_only_for_the_laws_cases_and_durations(app) -> None:
    _, _, lodger, _ = await _lodging(app)
    absence = {"resident_id": lodger["resident_id"], "case": "military_age", "absent_from": "2026-01-01",
               "absent_until": "2026-05-01", "destination": "Hà Nội"}
    with pytest.raises(RuleViolation, match="90 days"):
        await app.run(DeclareAbsence(**{**absence, "absent_until": "2026-02-01"}), POLICE)
    made = await app.run(DeclareAbsence(**absence), POLICE)
    assert made["kind"] == "absence" and made["absence_case"] == "military_age"
    with pytest.raises(Conflict):
        await app.run(DeclareAbsence(**{**absence, "case": "bail_or_probation"}), POLICE)
    assert types(await events(app))[-1] == "registry.residence.absence_declared.v1"


async def test_stay_notices_are_filed_by_the_landlord_or_staff_and_flagged_late(app) -> None:
    _, landlord, lodger, bid = await _lodging(app)
    arrived = clock.now() - timedelta(days=2)
    notice = {"boarding_house_id": bid, "lodger_resident_id": lodger["resident_id"], "lodger_name": "Vũ Thị Giang",
              "room": "P102", "arrived_at": arrived}
    stranger = actor(Role.RESIDENT, resident_id=lodger["resident_id"], household_id=lodger["household_id"])
    with pytest.raises(Forbidden):
        await app.run(NotifyStay(**notice), stranger)
    with pytest.raises(InvalidInput, match="future"):
        await app.run(NotifyStay(**{**notice, "arrived_at": clock.now() + timedelta(hours=1)}), POLICE)
    with pytest.raises(InvalidInput, match="room"):
        await app.run(NotifyStay(**{**notice, "room": "P9"}), POLICE)
    owner = actor(Role.RESIDENT, resident_id=landlord["resident_id"], household_id=landlord["household_id"])
    late = await app.run(NotifyStay(**notice), owner)
    assert late["late"] is True and late["boarding_house_id"] == bid
    assert (await events(app))[-1].late is True
    assert (await audited(app))[-1] == ("stay.notify", "stay_notice", late["notice_id"])


async def test_checks_due_and_the_expiry_job(app) -> None:
    gid, _, lodger, bid = await _lodging(app)
    today = clock.ward_today()
    expired = await app.run(RegisterTemporaryResidence(resident_id=lodger["resident_id"], valid_from="2024-01-01",
                                                       valid_until="2024-06-30"), POLICE)
    current = await app.run(RegisterTemporaryResidence(
        resident_id=lodger["resident_id"], boarding_house_id=bid, room="P102",
        valid_from=today - timedelta(days=20), valid_until=today + timedelta(days=15)), POLICE)
    async with app.read() as uow:
        expiring = await uow.declarations.expiring_within(WARD, today + timedelta(days=30))
        lodgers = await uow.declarations.lodgers_without_notice(WARD)
    assert [d["declaration_id"] for d in expiring] == [expired["declaration_id"], current["declaration_id"]]
    assert lodgers == [{"resident_id": lodger["resident_id"], "boarding_house_id": bid, "room": "P102",
                        "group_id": gid, "full_name": lodger["full_name"]}]

    async def run_job() -> int:
        async with app.uow() as uow:
            count = await expire_temporary_residences(uow)
            await uow.commit("expire-temporary-residences", SYSTEM)
        return count

    assert await run_job() == 1
    assert await run_job() == 0  # a second run finds nothing to do
    expiries = [e for e in await events(app) if e.event_type == "registry.residence.temporary_expired.v1"]
    assert [e.declaration_id for e in expiries] == [expired["declaration_id"]]
    async with app.read() as uow:
        assert (await uow.declarations.get(expired["declaration_id"]))["status"] == "expired"
        listed = await uow.declarations.page({"ward_id": WARD, "status": "active"}, PageRequest(50, None))
    assert [d["declaration_id"] for d in listed["items"]] == [current["declaration_id"]]
    await app.run(NotifyStay(boarding_house_id=bid, lodger_resident_id=lodger["resident_id"], lodger_name="G",
                             arrived_at=clock.now() - timedelta(minutes=5)), POLICE)
    async with app.read() as uow:
        assert await uow.declarations.lodgers_without_notice(WARD) == []
        notices = await uow.stay_notices.page({"ward_id": WARD, "late": None}, PageRequest(50, None))
    assert len(notices["items"]) == 1 and notices["items"][0]["lodger_resident_id"] == lodger["resident_id"]


# -- places (issue 18) ------------------------------------------------------------------------------------------
SQUARE = {"type": "Polygon", "coordinates": [[[105.77, 19.80], [105.78, 19.80], [105.78, 19.81], [105.77, 19.81],
                                              [105.77, 19.80]]]}


async def test_only_a_ward_official_of_the_ward_sets_a_group_s_area_and_a_new_one_replaces_it(app) -> None:
    from services.registry.commands import SetGroupArea

    await ward(app, OTHER_WARD)
    gid, _, _ = await people(app, 0)
    for who in (POLICE, ADMIN, actor(Role.TEAM_LEADER), actor(Role.RESIDENT)):
        with pytest.raises(Forbidden):
            await app.run(SetGroupArea(group_id=gid, geometry=SQUARE), who)
    with pytest.raises(NotFound):
        await app.run(SetGroupArea(group_id=gid, geometry=SQUARE), actor(Role.WARD_OFFICIAL, OTHER_WARD))
    first = await app.run(SetGroupArea(group_id=gid, geometry={
        "type": "Polygon", "coordinates": [[[105.123456789, 19.0], [105.2, 19.0], [105.2, 19.1], [105.123456789, 19.0]]]}),
        OFFICIAL)
    assert first["geometry"]["coordinates"][0][0] == [105.1234568, 19.0]  # kept to 7 decimals (~1 cm)
    again = await app.run(SetGroupArea(group_id=gid, geometry=SQUARE), OFFICIAL)
    assert again["geometry"] == SQUARE and again["bbox"] == [105.77, 19.80, 105.78, 19.81]
    assert again["properties"]["group_id"] == gid and again["properties"]["name"] == "Tổ dân phố Trần Phú"
    async with app.read() as uow:
        assert [a["group_id"] for a in await uow.group_areas.of_ward(WARD, None)] == [gid]
        assert await uow.group_areas.of_ward(WARD, (106.0, 19.0, 107.0, 20.0)) == []
        assert await uow.group_areas.of_ward(OTHER_WARD, None) == []
    sets = [e for e in await events(app) if e.event_type == "registry.group.area_set.v1"]
    assert [(e.group_id, e.geometry["type"], e.bbox) for e in sets][-1] == (gid, "Polygon", [105.77, 19.80, 105.78, 19.81])
    assert len(sets) == 2


async def test_a_bbox_matches_points_as_the_viewer_sees_them_on_both_repositories(app) -> None:
    from services.registry.commands import SetGroupArea

    gid, hid, (landlord,) = await people(app, 1)
    other = await group(app, name="Tổ dân phố Lê Lợi")
    await app.run(SetGroupArea(group_id=gid, geometry=SQUARE), OFFICIAL)
    edge = await app.run(RegisterBoardingHouse(group_id=other, name="Nhà trọ mép", address="1",
                                               landlord_resident_id=landlord["resident_id"],
                                               latitude=19.99996, longitude=105.5), OFFICIAL)
    far = await app.run(RegisterBoardingHouse(group_id=gid, name="Nhà trọ xa", address="2",
                                              landlord_resident_id=landlord["resident_id"],
                                              latitude=25.0, longitude=109.0), OFFICIAL)
    await app.run(RegisterBoardingHouse(group_id=other, name="Nhà trọ không toạ độ", address="3",
                                        landlord_resident_id=landlord["resident_id"]), OFFICIAL)

    async def within(bbox, precision) -> list[str]:
        async with app.read() as uow:
            listed = await uow.boarding_houses.page_within({"ward_id": WARD}, PageRequest(50, None), bbox=bbox,
                                                           precision=precision)
        return [b["name"] for b in listed["items"]]

    box = (105.4, 20.0, 105.6, 20.1)
    assert await within(box, "exact") == []
    assert await within(box, "approximate") == ["Nhà trọ mép"]
    assert await within(box, "group") == []
    assert await within((105.775, 19.805, 105.776, 19.806), "group") == ["Nhà trọ xa"]
    assert await within(None, "group") == ["Nhà trọ mép", "Nhà trọ xa", "Nhà trọ không toạ độ"]
    assert edge["place"]["precision"] == far["place"]["precision"] == "exact"
