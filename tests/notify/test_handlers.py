"""The notify service's rules as specifications, over the in-memory unit of work and over PostgreSQL alike
(``app`` is parametrised ``fake`` / ``postgres``): who must act is worked out from the projections alone, each
person is told once per fact however often its event comes, deliveries follow preferences, verified contacts and
quiet hours, the scheduled job warns once ahead of deadlines, and messages carry no third party's personal data."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.notify import consumers
from services.notify.commands import (
    DeleteContact,
    MarkRead,
    PutContact,
    ReadAll,
    Scan,
    SetPreference,
    VerifyContact,
)
from shared.actor import SYSTEM, Principal, Role
from shared.application import Application
from shared.contracts.awards import NominationApproved
from shared.contracts.donations import ExpenseProposed, PledgeInstalmentOverdue
from shared.contracts.identity import AccountChanged
from shared.contracts.incidents import (
    IncidentAssigned,
    IncidentDeadlineExtended,
    IncidentOverdue,
    IncidentReported,
    IncidentResolved,
    IncidentTriaged,
    TipAnswered,
)
from shared.contracts.mediation import CaseOpened
from shared.contracts.registry import (
    GroupCreated,
    StayNotified,
    TeamFormed,
    TeamMemberJoined,
    TeamMemberLeft,
    TemporaryResidenceExpired,
    TemporaryResidenceRegistered,
)
from shared.errors import InvalidInput, NotFound, RuleViolation
from shared.paging import PageRequest
from tests.notify.conftest import WARD

OFFICER = "acc-officer-1"
OTHER_OFFICER = "acc-officer-2"
LEADER = "acc-leader-1"
RESIDENT = "acc-resident-1"
OFFICIAL, OFFICIAL_2 = "acc-official-1", "acc-official-2"


def account(account_id: str, roles: list[str], *, resident_id: str | None = None, team_ids: list[str] | None = None,
            disabled: bool = False, at: datetime | None = None) -> AccountChanged:
    return AccountChanged(ward_id=WARD, subject=account_id, account_id=account_id, roles=roles,
                          resident_id=resident_id, team_ids=team_ids or [], disabled=disabled,
                          occurred_at=at or datetime.now(UTC))


def person(subject: str) -> Principal:
    return Principal(subject, frozenset({Role.POLICE}), WARD)


async def feed(app: Application, *events: Any) -> None:
    adapters = app.on_events(consumers.HANDLERS)
    for event in events:
        await adapters[type(event)](None, event)  # type: ignore[arg-type]


async def inbox(app: Application, person_id: str) -> list[dict[str, Any]]:
    async with app.read() as uow:
        return await uow.notifications.of(person_id)


async def deliveries(app: Application, person_id: str) -> list[dict[str, Any]]:
    async with app.read() as uow:
        return await uow.deliveries.of(person_id, None)


async def people(app: Application) -> None:
    await feed(app, account(OFFICER, ["police"]), account(OTHER_OFFICER, ["police"]),
               account(LEADER, ["team_leader", "resident"], resident_id="res-leader", team_ids=["team-med"]),
               account(RESIDENT, ["resident"], resident_id="res-1"),
               account(OFFICIAL, ["ward_official"]), account(OFFICIAL_2, ["ward_official"]),
               GroupCreated(ward_id=WARD, subject="g1", group_id="g1", name="Trần Phú"))


def tip(**kw: Any) -> dict[str, Any]:
    return {"ward_id": WARD, "subject": "inc-1", "incident_id": "inc-1", "group_id": "g1", **kw}


async def verified(app: Application, subject: str, channel: str, address: str) -> None:
    sent = await app.run(PutContact(channel=channel, address=address), person(subject))
    await app.run(VerifyContact(channel=channel, code=sent["code"]), person(subject))


async def test_an_overdue_tip_reaches_its_officer_once_by_inbox_email_and_sms(app: Application) -> None:
    await people(app)
    await verified(app, OFFICER, "email", "officer@police.example")
    await verified(app, OFFICER, "sms", "+84 912 345 678")
    assigned = IncidentAssigned(**tip(), assignee_kind="police", officer_ref=OFFICER)
    overdue = IncidentOverdue(**tip(), category="theft", deadline_on=date(2026, 11, 30),
                              received_at=datetime(2026, 11, 10, tzinfo=UTC))
    await feed(app, IncidentTriaged(**tip(), category="theft", is_crime_tip=True, deadline_on=date(2026, 11, 30)),
               assigned, overdue, overdue, assigned)
    await feed(app, overdue)  # redelivered in another transaction
    kinds = sorted(n["kind"] for n in await inbox(app, OFFICER))
    assert kinds == ["tip.assigned", "tip.overdue"]
    overdue_row = next(n for n in await inbox(app, OFFICER) if n["kind"] == "tip.overdue")
    assert overdue_row["urgent"] and overdue_row["link"] == "https://console.example/police/incidents/inc-1"
    sent = [(d["channel"], d["notification_id"]) for d in await deliveries(app, OFFICER)]
    assert sorted(c for c, n in sent if n == overdue_row["notification_id"]) == ["email", "sms"]
    assert all(n != overdue_row["notification_id"] or c in ("email", "sms") for c, n in sent)
    # the assignment is not urgent: in-app only by default
    assigned_row = next(n for n in await inbox(app, OFFICER) if n["kind"] == "tip.assigned")
    assert not [d for d in await deliveries(app, OFFICER) if d["notification_id"] == assigned_row["notification_id"]]
    assert await inbox(app, OTHER_OFFICER) == []


async def test_an_unassigned_overdue_tip_goes_to_the_wards_police(app: Application) -> None:
    await people(app)
    await feed(app, account("acc-police-elsewhere", ["police"]).model_copy(update={"ward_id": "dong-ve"}),
               IncidentOverdue(**tip(), category="theft", deadline_on=date(2026, 11, 30),
                               received_at=datetime(2026, 11, 10, tzinfo=UTC)))
    assert [len(await inbox(app, p)) for p in (OFFICER, OTHER_OFFICER, "acc-police-elsewhere", RESIDENT)] == [1, 1, 0, 0]


async def test_quiet_hours_hold_a_non_urgent_email_until_morning_and_digest_waits_for_seven(app: Application,
                                                                                           clock: Any) -> None:
    await people(app)
    await verified(app, OFFICER, "email", "officer@police.example")
    await app.run(SetPreference(kind="tip.assigned", channels=["email"]), person(OFFICER))
    await app.run(SetPreference(kind="tip.deadline_near", channels=["email"], digest=True), person(OFFICER))
    clock.at = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 23:30 in Hà Nội
    await feed(app, IncidentTriaged(**tip(), category="theft", is_crime_tip=True, deadline_on=date(2026, 12, 3)),
               IncidentAssigned(**tip(), assignee_kind="police", officer_ref=OFFICER))
    await app.run(Scan(), SYSTEM)
    rows = {d["channel"] + ("-digest" if d["digest"] else ""): d for d in await deliveries(app, OFFICER)}
    assert sorted(rows) == ["email", "email-digest"]
    assert rows["email"]["not_before"] == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # 06:00 local
    assert rows["email-digest"]["not_before"] == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 07:00 local
    async with app.read() as uow:  # the statuses' list pages in not_before order
        first = await uow.deliveries.page(OFFICER, None, PageRequest(1, None))
        assert [d["digest"] for d in first] == [False, True]  # the page and one more


async def test_the_scan_warns_once_before_a_deadline_and_again_for_an_extended_one(app: Application,
                                                                                  clock: Any) -> None:
    await people(app)
    await feed(app, IncidentTriaged(**tip(), category="theft", is_crime_tip=True, deadline_on=date(2026, 12, 10)),
               IncidentAssigned(**tip(), assignee_kind="police", officer_ref=OFFICER))
    assert (await app.run(Scan(), SYSTEM))["tip.deadline_near"] == 0  # 9 days ahead
    clock.at += timedelta(days=7)
    assert (await app.run(Scan(), SYSTEM))["tip.deadline_near"] == 1
    assert (await app.run(Scan(), SYSTEM))["tip.deadline_near"] == 0
    await feed(app, IncidentDeadlineExtended(**tip(), previous_deadline_on=date(2026, 12, 10),
                                             deadline_on=date(2026, 12, 11)))
    assert (await app.run(Scan(), SYSTEM))["tip.deadline_near"] == 1
    await feed(app, IncidentResolved(**tip(), category="theft", is_crime_tip=True, outcome="solved",
                                     camera_footage_used=False, resolved_at=datetime(2026, 12, 9, tzinfo=UTC)))
    clock.at += timedelta(days=1)
    await feed(app, IncidentDeadlineExtended(**tip(), previous_deadline_on=date(2026, 12, 11),
                                             deadline_on=date(2026, 12, 13)))
    assert (await app.run(Scan(), SYSTEM))["tip.deadline_near"] == 0  # resolved: nothing more
    assert [n["kind"] for n in await inbox(app, OFFICER)].count("tip.deadline_near") == 2


async def test_a_case_without_mediator_goes_to_the_mediation_team_leader(app: Application) -> None:
    await people(app)
    member = {"ward_id": WARD, "subject": "team-med", "team_id": "team-med", "group_id": "g1", "kind": "mediation",
              "compliant": True, "household_id": "h1", "full_name": "Nguyễn Văn A", "sex": "male"}
    await feed(app, TeamFormed(ward_id=WARD, subject="team-med", team_id="team-med", group_id="g1", kind="mediation",
                               compliant=True, name="Tổ hòa giải", formed_on=date(2026, 1, 1), formation_act="QĐ 1"),
               TeamMemberJoined(**member, resident_id="res-1", role="leader", appointed_on=date(2026, 1, 1)))
    opened = CaseOpened(ward_id=WARD, subject="case-1", case_id="case-1", group_id="g1", kind="neighbours",
                        origin="party_request")
    await feed(app, opened, opened)
    # the registry's leader (res-1's account) and the account holding team_leader for the team
    assert [n["kind"] for n in await inbox(app, RESIDENT)] == ["mediation.case_waiting"]
    assert [n["kind"] for n in await inbox(app, LEADER)] == ["mediation.case_waiting"]
    await feed(app, TeamMemberLeft(**member, resident_id="res-1", role="leader", left_on=date(2026, 6, 1)),
               opened.model_copy(update={"case_id": "case-2", "subject": "case-2"}))
    assert len(await inbox(app, RESIDENT)) == 1 and len(await inbox(app, LEADER)) == 2


async def test_residence_expiring_and_expired_reach_the_resident_and_police_without_naming_anyone(
        app: Application, clock: Any) -> None:
    await people(app)
    await feed(app, TemporaryResidenceRegistered(ward_id=WARD, subject="res-1", declaration_id="d1",
                                                 resident_id="res-1", group_id="g1", valid_from=date(2026, 6, 1),
                                                 valid_until=date(2026, 12, 5)))
    assert (await app.run(Scan(), SYSTEM))["residence.expiring"] == 1
    assert (await app.run(Scan(), SYSTEM))["residence.expiring"] == 0
    await feed(app, TemporaryResidenceExpired(ward_id=WARD, subject="res-1", declaration_id="d1", resident_id="res-1",
                                              group_id="g1", expired_on=date(2026, 12, 5)))
    assert sorted(n["kind"] for n in await inbox(app, RESIDENT)) == ["residence.expired", "residence.expiring"]
    police = await inbox(app, OFFICER)
    assert [n["kind"] for n in police] == ["residence.expired"] and "Trần Phú" in police[0]["body"]
    assert "res-1" not in police[0]["body"] + police[0]["title"]


async def test_a_late_stay_notice_goes_to_police_and_an_on_time_one_to_nobody(app: Application) -> None:
    await people(app)
    stay = {"ward_id": WARD, "subject": "bh-1", "boarding_house_id": "bh-1", "group_id": "g1",
            "lodger_resident_id": "res-1", "arrived_at": datetime(2026, 11, 30, 20, tzinfo=UTC),
            "notified_at": datetime(2026, 12, 1, 3, tzinfo=UTC)}
    await feed(app, StayNotified(**stay, notice_id="n1", late=False), StayNotified(**stay, notice_id="n2", late=True))
    assert [n["fact_key"] for n in await inbox(app, OFFICER)] == ["stay.late:n2"]
    assert await inbox(app, RESIDENT) == [] and await inbox(app, LEADER) == []  # LEADER leads no team of g1 yet
    await feed(app, TeamFormed(ward_id=WARD, subject="team-med", team_id="team-med", group_id="g1", kind="mediation",
                               compliant=True, name="Tổ hòa giải", formed_on=date(2026, 1, 1), formation_act="QĐ 1"),
               StayNotified(**stay, notice_id="n3", late=True))
    assert [n["fact_key"] for n in await inbox(app, LEADER)] == ["stay.late:n3"]  # the group's leader


async def test_donations_and_awards_reach_who_acts(app: Application) -> None:
    await people(app)
    await feed(app, ExpenseProposed(ward_id=WARD, subject="c1", expense_id="x1", campaign_id="c1", group_id="g1",
                                    amount_vnd=1_500_000, proposed_by=OFFICIAL),
               PledgeInstalmentOverdue(ward_id=WARD, subject="c1", pledge_id="p1", campaign_id="c1",
                                       instalment_number=2, due_on=date(2026, 11, 1), amount_vnd=100_000,
                                       team_id="team-med"),
               NominationApproved(ward_id=WARD, subject="nom-1", nomination_id="nom-1", recipient_kind="individual",
                                  recipient_ref="res-1", issuer="ward_chairman", year=2026, award_id="aw-1",
                                  decision_number="12/QĐ", decision_date=date(2026, 11, 20)),
               NominationApproved(ward_id=WARD, subject="nom-2", nomination_id="nom-2", recipient_kind="reporter",
                                  recipient_ref="rep-xyz", issuer="ward_chairman", year=2026, award_id="aw-2",
                                  decision_number="13/QĐ", decision_date=date(2026, 11, 20)))
    assert await inbox(app, OFFICIAL) == []  # never the proposer
    assert [n["kind"] for n in await inbox(app, OFFICIAL_2)] == ["expense.second_approval"]
    assert [n["kind"] for n in await inbox(app, LEADER)] == ["pledge.overdue"]
    assert [n["fact_key"] for n in await inbox(app, RESIDENT)] == ["awards.decided:nom-1"]


async def test_tip_answered_tells_the_officer_who_asked_and_no_message_names_the_reporter(app: Application) -> None:
    await people(app)
    await feed(app, IncidentReported(**tip(), category="drugs", is_crime_tip=True, anonymous=True,
                                     reported_at=datetime(2026, 11, 30, tzinfo=UTC)),
               IncidentAssigned(**tip(), assignee_kind="police", officer_ref=OFFICER),
               TipAnswered(**tip(), message_id="m1", officer_ref=OTHER_OFFICER))
    answered = await inbox(app, OTHER_OFFICER)
    assert [n["kind"] for n in answered] == ["tip.answered"] and answered[0]["urgent"]
    assert [n["kind"] for n in await inbox(app, OFFICER)] == ["tip.assigned"]


async def test_a_disabled_account_is_told_nothing(app: Application) -> None:
    await people(app)
    await feed(app, account(OFFICER, ["police"], disabled=True),
               account(OFFICER, ["police"], at=datetime(2020, 1, 1, tzinfo=UTC)))  # an older event changes nothing
    await feed(app, IncidentAssigned(**tip(), assignee_kind="police", officer_ref=OFFICER))
    assert await inbox(app, OFFICER) == []


async def test_contacts_are_sealed_verified_by_code_and_shown_as_hints(app: Application) -> None:
    me = person(OFFICER)
    sent = await app.run(PutContact(channel="email", address="Nam.Le@Example.ORG"), me)
    assert sent["address"] == "Nam.Le@example.org" and len(sent["code"]) == 6
    async with app.read() as uow:
        row = await uow.contacts.get(OFFICER, "email")
        assert b"example" not in bytes(row["address_sealed"]) and row["verified_at"] is None
    wrong = "000000" if sent["code"] != "000000" else "111111"
    answer = await app.run(VerifyContact(channel="email", code=wrong), me)
    assert answer["wrong_code"] and answer["attempts_left"] == 4
    ok = await app.run(VerifyContact(channel="email", code=sent["code"]), me)
    assert ok == {"channel": "email", "address_hint": "N•••@example.org", "verified": True}
    with pytest.raises(RuleViolation):  # the code is used up
        await app.run(VerifyContact(channel="email", code=sent["code"]), me)
    with pytest.raises(NotFound):  # another person's contact is not theirs to verify
        await app.run(VerifyContact(channel="email", code=sent["code"]), person(OTHER_OFFICER))
    with pytest.raises(InvalidInput):
        await app.run(PutContact(channel="sms", address="not a number"), me)
    await app.run(DeleteContact(channel="email"), me)
    with pytest.raises(NotFound):
        await app.run(DeleteContact(channel="email"), me)


async def test_five_wrong_codes_void_the_code(app: Application) -> None:
    me = person(OFFICER)
    sent = await app.run(PutContact(channel="sms", address="0912345678"), me)
    wrong = "000000" if sent["code"] != "000000" else "111111"
    for _ in range(5):
        await app.run(VerifyContact(channel="sms", code=wrong), me)
    with pytest.raises(RuleViolation):
        await app.run(VerifyContact(channel="sms", code=sent["code"]), me)


async def test_a_code_is_refused_once_its_fifteen_minutes_are_over(app: Application, clock: Any) -> None:
    me = person(OFFICER)
    sent = await app.run(PutContact(channel="sms", address="0912345678"), me)
    clock.at += timedelta(minutes=15)
    with pytest.raises(RuleViolation):
        await app.run(VerifyContact(channel="sms", code=sent["code"]), me)
    again = await app.run(PutContact(channel="sms", address="0912345678"), me)  # a new code, fifteen more minutes
    clock.at += timedelta(minutes=14)
    assert (await app.run(VerifyContact(channel="sms", code=again["code"]), me))["verified"] is True


async def test_wrong_codes_sent_at_once_still_get_five_tries_in_all(app: Application) -> None:
    me = person(OFFICER)
    sent = await app.run(PutContact(channel="sms", address="0912345678"), me)
    wrong = [f"{n:06d}" for n in range(12) if f"{n:06d}" != sent["code"]][:10]

    async def attempt(code: str) -> bool:
        try:
            return bool((await app.run(VerifyContact(channel="sms", code=code), me)).get("wrong_code"))
        except RuleViolation:
            return False

    tried = await asyncio.gather(*(attempt(code) for code in wrong))
    assert sum(tried) == 5  # the attempts are counted one after another, never read stale by a parallel one
    with pytest.raises(RuleViolation):  # and the code is void
        await app.run(VerifyContact(channel="sms", code=sent["code"]), me)


async def test_a_preference_keeps_known_channels_in_order_once_and_refuses_an_unknown_one(app: Application) -> None:
    me = person(OFFICER)
    answer = await app.run(SetPreference(kind="stay.late", channels=["sms", "email", "sms"], digest=True), me)
    assert answer == {"kind": "stay.late", "channels": ["email", "sms"], "digest": True}
    with pytest.raises(InvalidInput):
        await app.run(SetPreference(kind="stay.late", channels=["sms", "pigeon"]), me)
    with pytest.raises(InvalidInput):
        await app.run(SetPreference(kind="stay.never", channels=[]), me)
    async with app.read() as uow:
        assert (await uow.preferences.of(OFFICER))["stay.late"]["channels"] == ["email", "sms"]


async def test_inbox_read_marks_and_paging(app: Application) -> None:
    await people(app)
    for n in range(3):
        await feed(app, IncidentAssigned(**{**tip(), "incident_id": f"inc-{n}", "subject": f"inc-{n}"},
                                         assignee_kind="police", officer_ref=OFFICER))
    async with app.read() as uow:
        first = await uow.notifications.page(OFFICER, False, PageRequest(2, None))
        assert len(first) == 3 and await uow.notifications.unread_count(OFFICER) == 3
    read = await app.run(MarkRead(notification_id=first[0]["notification_id"]), person(OFFICER))
    assert read["read_at"] is not None
    with pytest.raises(NotFound):
        await app.run(MarkRead(notification_id=first[0]["notification_id"]), person(OTHER_OFFICER))
    async with app.read() as uow:
        assert len(await uow.notifications.page(OFFICER, True, PageRequest(10, None))) == 2
    assert (await app.run(ReadAll(), person(OFFICER)))["marked"] == 2
    async with app.read() as uow:
        assert await uow.notifications.unread_count(OFFICER) == 0
