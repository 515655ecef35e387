"""The awards service's rules, through its handlers, on the in-memory and the PostgreSQL unit of work alike:
achievements from other services' events (each fact once), criteria and who is eligible, the council's review
before the issuer's decision, who may decide what, one achievement for one award, revocation, certificates and
the anonymous reporter's claim."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from services.awards import consumers, domain, handlers, jobs
from services.awards.certificate import ANONYMOUS_REPORTER, recipient_display
from services.awards.commands import (
    AddCriterion,
    ApproveNomination,
    ClaimCertificate,
    ConfigureIssuer,
    EvaluateCriteria,
    IssueCertificate,
    Nominate,
    RejectNomination,
    ReviewNomination,
    RevokeAward,
    WithdrawClaim,
)
from services.awards.uow import AwardsUnitOfWork
from shared.actor import Principal, Role
from shared.application import Application
from shared.claims import claim_secret
from shared.clock import ward_today
from shared.contracts.awards import (
    AchievementRecorded,
    AwardGranted,
    AwardRevoked,
    CertificateIssued,
    CriterionAdded,
    IssuerConfigured,
    NominationApproved,
    NominationProposed,
    NominationRejected,
    PublicAwardGranted,
    PublicAwardRevoked,
)
from shared.contracts.donations import CampaignTeamCredited
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from shared.events import Event
from shared.paging import PageRequest
from tests.application import applications, audited, emitted
from tests.awards.fakes import FakeAwardsUnitOfWork
from tests.awards.seed import (
    CAMPAIGN,
    CRITERIA,
    FIRE_TEAMS,
    GROUP,
    ISSUERS,
    MEDIATION_TEAM,
    MOBILISATION_TEAMS,
    REPORTER,
    REPORTER_CLAIM_SECRET,
    SECURITY_TEAM,
    WARD,
    donation_events,
    incident_events,
    mediation_events,
    registry_events,
)

WARD_OFFICIAL = Principal("ward-official", frozenset({Role.WARD_OFFICIAL}), WARD)
CITY_OFFICIAL = Principal("city-official", frozenset({Role.CITY_OFFICIAL}), WARD)
ELSEWHERE = Principal("official-dong-ve", frozenset({Role.WARD_OFFICIAL}), "dong-ve")
RESIDENT = Principal("resident-1", frozenset({Role.RESIDENT}), WARD)
POLICE = Principal("police-1", frozenset({Role.POLICE}), WARD)
PUBLIC = Principal("public", frozenset(), "-")

TEAM_CRITERION, _, MEDIATOR_CRITERION, REPORTER_CRITERION = CRITERIA[:4]
DECIDER = {"ward_chairman": WARD_OFFICIAL, "city_chairman": CITY_OFFICIAL}


@pytest.fixture(params=["fake", "postgres"])
async def app(request: pytest.FixtureRequest):
    async with applications(request, "awards", FakeAwardsUnitOfWork, AwardsUnitOfWork,
                            handlers.HANDLERS) as application:
        yield application


async def feed(app: Application, *events: Event) -> None:
    """Other services' events, as the consumer hands them over (each in its own unit of work)."""
    adapters = app.on_events(consumers.HANDLERS)
    for event in events:
        await adapters[type(event)](None, event)


async def configure(app: Application, criteria: list[dict], year: int = 2024) -> None:
    for issuer, body in ISSUERS.items():
        await app.run(ConfigureIssuer(ward_id=WARD, issuer=issuer, **body), DECIDER[issuer])
    for body in criteria:
        await app.run(AddCriterion(ward_id=WARD, year=year, **body), WARD_OFFICIAL)


async def evaluate(app: Application, year: int = 2024) -> list[dict]:
    reply = await app.handle(EvaluateCriteria(ward_id=WARD, year=year), WARD_OFFICIAL)
    proposed = reply.json()["proposed"]
    assert reply.created == bool(proposed)  # 201 when it proposed nominations, 200 when nothing was new
    return proposed


async def grant(app: Application, nomination: dict, number: str = "1/QĐ-UBND", on: date = date(2024, 8, 10)) -> dict:
    nid = nomination["nomination_id"]
    await app.run(ReviewNomination(nomination_id=nid, council_minutes_ref="BB 05/HĐTĐKT"), WARD_OFFICIAL)
    return await app.run(ApproveNomination(nomination_id=nid, decision_number=number, decision_date=on),
                         DECIDER[nomination["issuer"]])


async def achievements(app: Application) -> dict[tuple[str, str, str], dict]:
    async with app.read() as uow:
        page = await uow.achievements.page(WARD, 2024, PageRequest(200, None))
    assert page["next_cursor"] is None
    return {(a["kind"], a["holder_kind"], a["holder_ref"]): a for a in page["items"]}


def of(events: list[Event], kind: type[Event]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


# -- achievements ----------------------------------------------------------------------------------------------
async def test_each_fact_counts_once_with_the_events_that_prove_it(app):
    med, inc, don = mediation_events(), incident_events(), donation_events()
    await feed(app, *registry_events(), *med, *inc, *don)
    # The same facts again, as another delivery with new event ids (a republish by the sender): nothing changes.
    before = len(await emitted(app))
    await feed(app, *[e.model_copy(update={"id": uuid.uuid4()}) for e in med + inc + don])
    assert len(await emitted(app)) == before
    got = await achievements(app)
    cases = {e.case_id: str(e.id) for e in med}

    team = got[("mediations_succeeded", "collective", MEDIATION_TEAM)]
    assert team["count"] == 10 and sorted(team["evidence_event_ids"]) == sorted(cases.values())
    assert got[("mediations_succeeded", "individual", "r-hung")]["count"] == 10
    minh = got[("mediations_succeeded", "individual", "r-minh")]
    assert minh["count"] == 4 and set(minh["evidence_event_ids"]) == {cases[f"case-{n}"] for n in range(1, 5)}
    # Tips: only solved crime tips count, credited to the pseudonym; cameras credit their group.
    incidents = {e.incident_id: str(e.id) for e in inc}
    tips = got[("tips_solved", "reporter", REPORTER)]
    assert tips["count"] == 2 and set(tips["evidence_event_ids"]) == {incidents["inc-1"], incidents["inc-2"]}
    assert ("tips_solved", "reporter", "rep-other") not in got
    assert got[("cameras_helped", "collective", GROUP)]["count"] == 3
    # Collections net of the reversal; the target reached credits every team that collected, once.
    first = got[("collections", "collective", MOBILISATION_TEAMS[0])]
    assert (first["count"], first["amount_vnd"]) == (1, 5_500_000)
    reached = [a for k, a in got.items() if k[0] == "campaign_target_reached"]
    assert len(reached) == 10 and all(a["scope"] == CAMPAIGN for a in reached)
    assert sum(a["amount_vnd"] for a in reached) == 59_050_000
    # Team strength from the registry's events.
    assert [got[("fire_prevention_activity", "collective", t)]["count"] for t in FIRE_TEAMS] == [3, 3]
    assert got[("security_team_activity", "collective", SECURITY_TEAM)]["count"] == 1
    # Every change was published with its evidence; the last one of an achievement carries all of it.
    published = of(await emitted(app), AchievementRecorded)
    last = [p for p in published if p.achievement_id == team["achievement_id"]][-1]
    assert last.count == 10 and sorted(last.evidence_event_ids) == sorted(cases.values())
    assert await audited(app) == []  # the system's projections are not a person's commands


async def test_a_target_reached_credits_only_the_teams_that_collected(app):
    reached = donation_events()[-1]
    teams = {MOBILISATION_TEAMS[0]: 1_000_000, MOBILISATION_TEAMS[1]: 0}
    await feed(app, reached.model_copy(update={"team_totals": teams}))
    got = await achievements(app)
    assert [k[2] for k in got if k[0] == "campaign_target_reached"] == [MOBILISATION_TEAMS[0]]


async def test_a_team_that_collected_after_the_target_is_credited_once_like_the_others(app):
    reached = donation_events()[-1]
    await feed(app, reached.model_copy(update={"team_totals": {MOBILISATION_TEAMS[0]: 1_000_000}}))
    late = CampaignTeamCredited(ward_id=WARD, subject=CAMPAIGN, campaign_id=CAMPAIGN, group_id=GROUP,
                                team_id=MOBILISATION_TEAMS[1], total_vnd=300_000, reached_on=reached.reached_on)
    await feed(app, late, late.model_copy(update={"id": uuid.uuid4()}))  # a redelivery under another event id
    got = await achievements(app)
    credited = {k[2]: a for k, a in got.items() if k[0] == "campaign_target_reached"}
    assert sorted(credited) == sorted(MOBILISATION_TEAMS[:2])
    late_team = credited[MOBILISATION_TEAMS[1]]
    assert (late_team["count"], late_team["amount_vnd"], late_team["scope"]) == (1, 300_000, CAMPAIGN)
    assert late_team["year"] == reached.reached_on.year


async def test_a_tip_not_solved_or_not_a_crime_tip_credits_no_reporter(app):
    base = incident_events()[0]
    await feed(app, base.model_copy(update={"id": uuid.uuid4(), "incident_id": "inc-x", "outcome": "transferred"}),
               base.model_copy(update={"id": uuid.uuid4(), "incident_id": "inc-y", "is_crime_tip": False,
                                       "camera_footage_used": False}))
    assert not [k for k in await achievements(app) if k[0] == "tips_solved"]


# -- configuration ---------------------------------------------------------------------------------------------
async def test_an_issuer_is_configured_by_its_own_level_and_announced(app):
    with pytest.raises(Forbidden):  # the city's authority is configured by the city
        await app.run(ConfigureIssuer(ward_id=WARD, issuer="city_chairman", **ISSUERS["city_chairman"]), WARD_OFFICIAL)
    with pytest.raises(Forbidden):
        await app.run(ConfigureIssuer(ward_id=WARD, issuer="ward_chairman", **ISSUERS["ward_chairman"]), ELSEWHERE)
    with pytest.raises(InvalidInput, match="valid_until is before valid_from"):
        await app.run(ConfigureIssuer(ward_id=WARD, issuer="ward_chairman", title="Chủ tịch UBND phường",
                                      authority="UBND phường", valid_from=date(2025, 7, 1),
                                      valid_until=date(2025, 1, 1)), WARD_OFFICIAL)
    reply = await app.handle(ConfigureIssuer(ward_id=WARD, issuer="ward_chairman", **ISSUERS["ward_chairman"]),
                             WARD_OFFICIAL)
    assert reply.created and reply.json()["valid_from"] == "2020-01-01"
    [event] = await emitted(app)
    assert isinstance(event, IssuerConfigured) and event.subject == f"{WARD}:ward_chairman"
    assert event.title == ISSUERS["ward_chairman"]["title"] and event.signer_name == "Lê Thị Phương"
    assert await audited(app) == [("issuer.configure", "issuer", f"{WARD}:ward_chairman:2020-01-01")]
    async with app.read() as uow:
        assert (await uow.issuers.on(WARD, "ward_chairman", date(2024, 8, 1)))["title"] == event.title
        assert await uow.issuers.on(WARD, "ward_chairman", date(2019, 8, 1)) is None
        assert [i["issuer"] for i in (await uow.issuers.page(WARD, PageRequest(50, None)))["items"]] == ["ward_chairman"]


async def test_a_criterion_needs_a_threshold_and_a_fitting_holder(app):
    ok = {"year": 2024, "achievement_kind": "mediations_succeeded", "holder_kind": "individual", "min_count": 5,
          "title": "Hòa giải viên tiêu biểu", "issuer": "ward_chairman"}
    with pytest.raises(InvalidInput, match="minimum count or amount"):
        await app.run(AddCriterion(ward_id=WARD, **{**ok, "min_count": 0}), WARD_OFFICIAL)
    with pytest.raises(InvalidInput, match="held by: reporter"):
        await app.run(AddCriterion(ward_id=WARD, **{**ok, "achievement_kind": "tips_solved"}), WARD_OFFICIAL)
    for who in (CITY_OFFICIAL, RESIDENT, ELSEWHERE):  # criteria are the ward's emulation office's
        with pytest.raises(Forbidden):
            await app.run(AddCriterion(ward_id=WARD, **ok), who)
    created = await app.handle(AddCriterion(ward_id=WARD, **ok), WARD_OFFICIAL)
    assert created.created and uuid.UUID(created.json()["criterion_id"])
    async with app.read() as uow:
        [row] = (await uow.criteria.page(WARD, 2024, PageRequest(50, None)))["items"]
    assert row["criterion_id"] == created.json()["criterion_id"] and row["min_count"] == 5
    [event] = of(await emitted(app), CriterionAdded)
    assert event.subject == event.criterion_id == row["criterion_id"] and event.issuer == "ward_chairman"
    assert await audited(app) == [("criterion.add", "criterion", row["criterion_id"])]


# -- eligibility: criteria propose nominations -----------------------------------------------------------------
async def test_criteria_propose_each_eligible_achievement_once_with_its_evidence(app):
    med = mediation_events()
    await feed(app, *registry_events(), *med)
    await configure(app, [MEDIATOR_CRITERION, TEAM_CRITERION])
    proposed = await evaluate(app)
    by_ref = {p["recipient_ref"]: p for p in proposed}
    assert set(by_ref) == {"r-hung", "r-lan", MEDIATION_TEAM}  # Minh has 4, below the threshold of 5
    assert by_ref["r-lan"]["recipient_name"] == "Phạm Thị Lan" and by_ref["r-lan"]["issuer"] == "ward_chairman"
    assert set(by_ref[MEDIATION_TEAM]["evidence_event_ids"]) == {str(e.id) for e in med}
    assert by_ref[MEDIATION_TEAM]["issuer"] == "city_chairman"
    assert await evaluate(app) == []  # an achievement already nominated is not proposed again
    assert len(of(await emitted(app), NominationProposed)) == 3
    assert ("nomination.evaluate", "criteria", f"{WARD}:2024") in await audited(app)
    async with app.read() as uow:
        listed = (await uow.nominations.page(WARD, 2024, "proposed", PageRequest(50, None)))["items"]
    assert {n["nomination_id"] for n in listed} == {p["nomination_id"] for p in proposed}
    assert all(n["achievement_ids"] for n in listed)


async def test_the_daily_job_proposes_for_every_ward_once(app):
    year = ward_today().year
    events = [e.model_copy(update={"concluded_on": e.concluded_on.replace(year=year)}) for e in mediation_events()]
    await feed(app, *registry_events(), *events)
    await configure(app, [MEDIATOR_CRITERION], year=year)
    job = app.job("evaluate-criteria", jobs.evaluate_criteria)
    assert await job(None) == 2
    assert await job(None) == 0  # nothing proposed twice


# -- approval: the council reviews, the issuer's level decides --------------------------------------------------
async def test_the_issuer_decides_only_after_review_within_its_period_and_its_level(app):
    await feed(app, *registry_events(), *mediation_events())
    await configure(app, [TEAM_CRITERION])
    [team] = await evaluate(app)
    nid = team["nomination_id"]
    decision = {"nomination_id": nid, "decision_number": "9/QĐ-UBND", "decision_date": date(2024, 8, 10)}
    with pytest.raises(RuleViolation, match="reviewed by the council"):
        await app.run(ApproveNomination(**decision), CITY_OFFICIAL)
    for who in (CITY_OFFICIAL, RESIDENT):  # the council's review is recorded by the ward's office
        with pytest.raises(Forbidden):
            await app.run(ReviewNomination(nomination_id=nid, council_minutes_ref="BB 05"), who)
    await app.run(ReviewNomination(nomination_id=nid, council_minutes_ref="BB 05/HĐTĐKT"), WARD_OFFICIAL)
    with pytest.raises(Forbidden, match="city chairman"):  # a ward official cannot sign for the city chairman
        await app.run(ApproveNomination(**decision), WARD_OFFICIAL)
    with pytest.raises(Forbidden):
        await app.run(RejectNomination(nomination_id=nid, reason="Không đủ"), WARD_OFFICIAL)
    # The city chairman of Thanh Hóa city is configured until 30 June 2025 (the city level changed in 2025).
    with pytest.raises(RuleViolation, match="no city_chairman is configured"):
        await app.run(ApproveNomination(**{**decision, "decision_date": date(2025, 8, 10)}), CITY_OFFICIAL)
    async with app.read() as uow:
        assert await uow.awards.granted_of_year(WARD, 2024) == []  # nothing half written

    granted = await app.run(ApproveNomination(**decision), CITY_OFFICIAL)
    assert granted["status"] == "approved" and granted["verification_code"].startswith("GK-2024-")
    with pytest.raises(RuleViolation):  # a decision is final
        await app.run(RejectNomination(nomination_id=nid, reason="Đổi ý"), CITY_OFFICIAL)
    events = await emitted(app)
    [approved], [award] = of(events, NominationApproved), of(events, AwardGranted)
    assert approved.award_id == award.award_id == granted["award_id"]
    assert award.recipient_name == "Tổ hòa giải Trần Phú" and award.issuer == "city_chairman"
    assert award.achievement_ids == sorted(team["achievement_ids"]) and award.year == 2024
    assert [a for a in await audited(app) if a[0].startswith("nomination.") and a[0] != "nomination.evaluate"] == [
        ("nomination.review", "nomination", nid), ("nomination.approve", "nomination", nid)]
    async with app.read() as uow:
        kept = await uow.awards.get(granted["award_id"])
        [listed] = await uow.awards.granted_of_year(WARD, 2024)
    assert kept["issuer_title"] == ISSUERS["city_chairman"]["title"] and kept["signer_name"] == "Nguyễn Văn Thành"
    assert listed["award_id"] == granted["award_id"] and kept["achievement_ids"] == award.achievement_ids


async def test_a_nomination_elsewhere_answers_as_one_that_does_not_exist(app):
    await feed(app, *registry_events(), *mediation_events())
    await configure(app, [MEDIATOR_CRITERION])
    lan = next(p for p in await evaluate(app) if p["recipient_ref"] == "r-lan")
    award = await grant(app, lan)
    for cmd in (ReviewNomination(nomination_id=lan["nomination_id"], council_minutes_ref="BB 1"),
                RejectNomination(nomination_id=lan["nomination_id"], reason="không đủ"),
                RevokeAward(award_id=award["award_id"], reason="nhầm lẫn", revoked_on=date(2024, 9, 1)),
                IssueCertificate(award_id=award["award_id"])):
        with pytest.raises(NotFound) as theirs:
            await app.run(cmd, ELSEWHERE)
        unknown = cmd.model_copy(update={k: "not-one" for k in ("nomination_id", "award_id") if hasattr(cmd, k)})
        with pytest.raises(NotFound) as nothing:
            await app.run(unknown, ELSEWHERE)
        assert theirs.value.detail == nothing.value.detail


async def test_a_rejected_nomination_frees_its_achievement_and_an_awarded_one_backs_nothing_else(app):
    await feed(app, *registry_events(), *mediation_events())
    await configure(app, [MEDIATOR_CRITERION])
    hung = next(p for p in await evaluate(app) if p["recipient_ref"] == "r-hung")
    by_hand = Nominate(ward_id=WARD, year=2024, recipient_kind="individual", recipient_ref="r-hung",
                       title="Cá nhân tiêu biểu", issuer="city_chairman", achievement_ids=hung["achievement_ids"])
    with pytest.raises(Conflict):  # the achievement backs the first nomination while it stands
        await app.run(by_hand, WARD_OFFICIAL)
    rejected = await app.run(RejectNomination(nomination_id=hung["nomination_id"], reason="Chưa đủ hồ sơ",
                                              decision_number="3/QĐ-UBND", decision_date=date(2024, 8, 1)),
                             WARD_OFFICIAL)
    assert rejected["status"] == "rejected"
    [event] = of(await emitted(app), NominationRejected)
    assert event.reason == "Chưa đủ hồ sơ"
    reply = await app.handle(by_hand, WARD_OFFICIAL)  # now free
    assert reply.created and reply.json()["origin"] == "manual" and len(reply.json()["evidence_event_ids"]) == 10
    await grant(app, reply.json(), number="77/QĐ-UBND")
    assert await evaluate(app) == []  # once awarded, not even a new evaluation proposes it


async def test_a_nomination_by_hand_needs_evidence_a_known_recipient_and_the_wards_office(app):
    await feed(app, *registry_events(), *mediation_events())
    base = {"ward_id": WARD, "year": 2024, "recipient_kind": "individual", "recipient_ref": "r-lan",
            "title": "Cá nhân tiêu biểu", "issuer": "ward_chairman"}
    with pytest.raises(InvalidInput, match="needs evidence"):
        await app.run(Nominate(**base), WARD_OFFICIAL)
    with pytest.raises(InvalidInput, match="not known"):
        await app.run(Nominate(**{**base, "recipient_ref": "r-nobody", "evidence_note": "Biên bản"}), WARD_OFFICIAL)
    with pytest.raises(InvalidInput, match="not one of this ward's"):
        await app.run(Nominate(**base, achievement_ids=["nope"]), WARD_OFFICIAL)
    hung = domain.achievement_id(WARD, "mediations_succeeded", "individual", "r-hung", 2024)
    with pytest.raises(InvalidInput, match="another holder"):
        await app.run(Nominate(**base, achievement_ids=[hung]), WARD_OFFICIAL)
    with pytest.raises(InvalidInput, match="not 2025"):
        await app.run(Nominate(**{**base, "recipient_ref": "r-hung", "year": 2025}, achievement_ids=[hung]),
                      WARD_OFFICIAL)
    noted = Nominate(**base, evidence_note="Biên bản họp tổ dân phố Trần Phú số 3/BB")
    for who in (RESIDENT, POLICE, ELSEWHERE, CITY_OFFICIAL):
        with pytest.raises(Forbidden):
            await app.run(noted, who)
    assert of(await emitted(app), NominationProposed) == []
    first = await app.handle(noted, WARD_OFFICIAL, idempotency_key="nominate-lan-2024")
    again = await app.handle(noted, WARD_OFFICIAL, idempotency_key="nominate-lan-2024")
    assert again.replayed and again.body == first.body and first.created
    assert len(of(await emitted(app), NominationProposed)) == 1


async def test_a_reporter_is_awarded_by_pseudonym_and_never_named_on_the_award(app):
    await feed(app, *incident_events())
    await configure(app, [REPORTER_CRITERION])
    [nomination] = await evaluate(app)
    assert nomination["recipient_kind"] == "reporter" and nomination["recipient_name"] is None
    await grant(app, nomination, number="21/QĐ-UBND")
    [granted] = of(await emitted(app), AwardGranted)
    assert granted.recipient_ref == REPORTER and granted.recipient_name is None


async def test_a_recipient_without_a_known_name_cannot_be_awarded(app):
    await feed(app, *mediation_events())  # no registry events: nobody's name is known
    await configure(app, [MEDIATOR_CRITERION])
    lan = next(p for p in await evaluate(app) if p["recipient_ref"] == "r-lan")
    with pytest.raises(RuleViolation, match="name is not known"):
        await grant(app, lan)


# -- awards: revocation and certificates -------------------------------------------------------------------------
async def test_revocation_is_the_issuers_and_final_and_a_revoked_award_has_no_certificate(app):
    await feed(app, *registry_events(), *mediation_events())
    await configure(app, [MEDIATOR_CRITERION])
    lan = next(p for p in await evaluate(app) if p["recipient_ref"] == "r-lan")
    award = await grant(app, lan, number="15/QĐ-UBND")
    issued = await app.handle(IssueCertificate(award_id=award["award_id"]), WARD_OFFICIAL)
    assert issued.created and len(issued.json()["sha256"]) == 64
    [certificate] = of(await emitted(app), CertificateIssued)
    assert certificate.sha256 == issued.json()["sha256"]

    revoke = RevokeAward(award_id=award["award_id"], reason="Thành tích không đúng sự thật", revoked_on=date(2024, 10, 1))
    with pytest.raises(Forbidden):  # the city cannot revoke the ward's award
        await app.run(revoke, CITY_OFFICIAL)
    assert (await app.run(revoke, WARD_OFFICIAL))["status"] == "revoked"
    with pytest.raises(RuleViolation, match="already revoked"):
        await app.run(revoke, WARD_OFFICIAL)
    with pytest.raises(RuleViolation, match="no certificate"):
        await app.run(IssueCertificate(award_id=award["award_id"]), WARD_OFFICIAL)
    [revoked] = of(await emitted(app), AwardRevoked)
    assert revoked.verification_code == award["verification_code"] and revoked.reason == revoke.reason
    [granted], [public] = of(await emitted(app), PublicAwardGranted), of(await emitted(app), PublicAwardRevoked)
    assert (public.award_id, public.revoked_on) == (granted.award_id, date(2024, 10, 1)) == (award["award_id"],
                                                                                               date(2024, 10, 1))
    assert revoke.reason not in public.model_dump_json() and award["verification_code"] not in public.model_dump_json()
    async with app.read() as uow:
        assert await uow.awards.granted_of_year(WARD, 2024) == []  # a revoked award is not read out
        kept = await uow.awards.by_code(award["verification_code"])
    assert kept["status"] == "revoked" and kept["revoked_on"] == date(2024, 10, 1)


async def test_only_the_reporter_with_the_claim_secret_names_the_certificate_and_takes_the_name_off(app):
    await feed(app, *incident_events())
    await configure(app, [REPORTER_CRITERION])
    [nomination] = await evaluate(app)
    award = await grant(app, nomination)
    await app.run(IssueCertificate(award_id=award["award_id"]), WARD_OFFICIAL)
    code = award["verification_code"].lower()  # as typed from paper
    for proof in ("x" * 43, claim_secret("another-follow-up-secret", REPORTER)):
        with pytest.raises(Forbidden):
            await app.run(ClaimCertificate(code=code, display_name="Kẻ mạo danh", claim_secret=proof), PUBLIC)
    with pytest.raises(NotFound):
        await app.run(ClaimCertificate(code="GK-2024-AAAA-BBBB", display_name="Ai đó", claim_secret="z" * 43), PUBLIC)

    claimed = await app.run(ClaimCertificate(code=code, display_name="Anh Tư chợ Vườn Hoa",
                                             claim_secret=REPORTER_CLAIM_SECRET), PUBLIC)
    assert claimed["claimed"] is True
    async with app.read() as uow:
        named = await uow.awards.get(award["award_id"])
    assert named["claimed_name"] == "Anh Tư chợ Vườn Hoa"
    # The certificate already issued was issued again with the name; the name leaves in no event.
    digests = [e.sha256 for e in of(await emitted(app), CertificateIssued)]
    assert len(digests) == 2 and named["certificate_sha256"] == digests[-1]
    assert not [e for e in await emitted(app) if "Anh Tư" in e.model_dump_json()]
    assert (await audited(app))[-1] == ("award.claim", "award", award["award_id"])

    withdrawn = await app.run(WithdrawClaim(code=code, claim_secret=REPORTER_CLAIM_SECRET), PUBLIC)
    assert withdrawn["claimed"] is False
    async with app.read() as uow:
        anonymous = await uow.awards.get(award["award_id"])
    assert anonymous["claimed_name"] is None and anonymous["certificate_sha256"] == digests[0]
    assert recipient_display(anonymous) == ANONYMOUS_REPORTER


# -- the lists' pages --------------------------------------------------------------------------------------------
async def test_achievements_and_nominations_page_in_one_order_each_seen_once(app):
    await feed(app, *registry_events(), *mediation_events(), *incident_events(), *donation_events())
    await configure(app, [MEDIATOR_CRITERION, TEAM_CRITERION, REPORTER_CRITERION])
    proposed = await evaluate(app)

    async def walk(read: Any) -> list[dict]:
        seen, cursor = [], None
        while True:
            async with app.read() as uow:
                page = await read(uow, PageRequest(3, cursor))
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen

    achievements = await walk(lambda uow, p: uow.achievements.page(WARD, 2024, p))
    keys = [(a["kind"], a["holder_ref"], a["scope"], a["achievement_id"]) for a in achievements]
    assert keys == sorted(keys) and len(set(keys)) == len(keys) > 20
    nominations = await walk(lambda uow, p: uow.nominations.page(WARD, 2024, None, p))
    assert sorted(n["nomination_id"] for n in nominations) == sorted(p["nomination_id"] for p in proposed)
    assert [(n["created_at"], n["nomination_id"]) for n in nominations] == sorted(
        (n["created_at"], n["nomination_id"]) for n in nominations)
