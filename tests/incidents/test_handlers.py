"""The incidents handlers as a specification: intake with reporter protection, the lifecycle, crime-tip deadlines,
footage, referral to mediation and its outcome, warnings and the overdue check. Every test runs on the in-memory
unit of work (tests/incidents/fakes.py) and on PostgreSQL, so the fakes cannot drift from the SQL."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from services.incidents import briefing, domain, handlers
from services.incidents.commands import (
    AssignIncident,
    CiteFootage,
    CloseIncident,
    ExtendDeadline,
    RecordWarning,
    ReferToMediation,
    ReopenIncident,
    ReportIncident,
    ResolveIncident,
    StartWork,
    TriageIncident,
)
from services.incidents.consumers import HANDLERS as EVENT_HANDLERS
from services.incidents.repository import identity_context, warning_context
from services.incidents.uow import IncidentsUnitOfWork
from shared import clock
from shared.actor import Principal, Role
from shared.application import Application
from shared.claims import claim_secret, claim_verifier
from shared.contracts.incidents import (
    IncidentAssigned,
    IncidentClosed,
    IncidentOverdue,
    IncidentReferredToMediation,
    IncidentReported,
    IncidentResolved,
    IncidentReturnedToPolice,
    IncidentTriaged,
    WarningRecorded,
)
from shared.contracts.mediation import CaseOpened, CaseRefused, CaseSucceeded
from shared.contracts.registry import (
    FacilityDecommissioned,
    FacilityRegistered,
    StayNotified,
    TemporaryResidenceExpired,
    TemporaryResidenceRegistered,
)
from shared.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from shared.paging import PageRequest
from tests.application import applications, audited, emitted
from tests.incidents.conftest import (
    ANXH_TEAM,
    CAMERA,
    GROUP,
    MEDIATION_TEAM,
    OLD_CAMERA,
    OTHER_GROUP,
    WARD,
    registry_facts,
)
from tests.incidents.fakes import FakeIncidentsUnitOfWork, dev_protector

PII = dev_protector()
POLICE = Principal("ca-khu-vuc-1", frozenset({Role.POLICE}), WARD)
OFFICIAL = Principal("can-bo-phuong", frozenset({Role.WARD_OFFICIAL}), WARD)
POLICE_ELSEWHERE = Principal("ca-hoa-binh", frozenset({Role.POLICE}), "hoa-binh")
RESIDENT = Principal("user-an", frozenset({Role.RESIDENT}), WARD, resident_id="r-an")


@pytest.fixture(params=["fake", "postgres"])
async def app(request: pytest.FixtureRequest):
    def real(ctx, conn, *, read_only=False):
        return IncidentsUnitOfWork(ctx, conn, read_only=read_only, pii=PII)

    async with applications(request, "incidents", FakeIncidentsUnitOfWork, real, handlers.HANDLERS) as application:
        await feed(application, *registry_facts())
        yield application


async def feed(app: Application, *events: Any) -> None:
    """Other services' events, as the consumer delivers them (each in its own unit of work)."""
    adapters = app.on_events(EVENT_HANDLERS)
    for e in events:
        await adapters[type(e)](None, e)


def tip(**over: Any) -> ReportIncident:
    body: dict[str, Any] = {"category": "theft", "is_crime_tip": True, "description": "Trộm xe đạp ở đầu hẻm",
                            "place": {"group_id": GROUP}, "anonymous": True}
    body.update(over)
    return ReportIncident.model_validate(body)


async def report(app: Application, cmd: ReportIncident | None = None, who: Principal = RESIDENT) -> dict:
    cmd = cmd or tip()
    return await app.run(cmd, handlers.reporter_actor(who, PII, anonymous=cmd.anonymous))


async def incident(app: Application, incident_id: str) -> dict:
    async with app.read() as uow:
        return await uow.incidents.get(incident_id)


async def trail(app: Application, incident_id: str) -> list[tuple]:
    async with app.read() as uow:
        page = await uow.incidents.transitions(incident_id, PageRequest(200, None))
    return [(t["action"], t["from_state"], t["to_state"], t["actor"], t["reason"]) for t in page["items"]]


async def of_type(app: Application, event_type: type) -> list:
    return [e for e in await emitted(app) if isinstance(e, event_type)]


async def to_in_progress(app: Application, **over: Any) -> str:
    incident_id = (await report(app, tip(**over)))["incident_id"]
    await app.run(TriageIncident(incident_id=incident_id), POLICE)
    await app.run(AssignIncident(incident_id=incident_id, kind="police", officer="ca-khu-vuc-1"), POLICE)
    await app.run(StartWork(incident_id=incident_id), POLICE)
    return incident_id


# -- intake ---------------------------------------------------------------------------------------------------------
async def test_an_identified_report_keeps_the_reporter_encrypted_and_audits_a_pseudonym(app):
    cmd = tip(anonymous=False, reporter={"full_name": "Nguyễn Văn An", "phone": "0912 345 678"},
              footage=[{"camera_id": CAMERA}])
    reply = (await app.handle(cmd, handlers.reporter_actor(RESIDENT, PII, anonymous=False))).json()
    assert reply == {"incident_id": reply["incident_id"], "state": "received"}
    inc = await incident(app, reply["incident_id"])
    assert b"Nguy" not in bytes(inc["reporter_identity"]) and inc["follow_up_code"] is None
    assert json.loads(PII.decrypt(inc["reporter_identity"], identity_context(inc["incident_id"]))) == {
        "resident_id": "r-an", "full_name": "Nguyễn Văn An", "phone": "0912 345 678"}
    assert inc["reporter_ref"] == handlers.own_reporter_ref(RESIDENT, PII)
    assert inc["deadline_on"] == clock.ward_today() + timedelta(days=20)
    [event] = await of_type(app, IncidentReported)
    assert event.incident_id == reply["incident_id"] and "Nguy" not in event.model_dump_json()
    assert await audited(app) == [("incident.report", "incident", reply["incident_id"])]
    assert await trail(app, reply["incident_id"]) == [("report", None, "received", "reporter", None)]


async def test_a_report_refuses_to_run_under_the_callers_own_identity(app):
    with pytest.raises(RuntimeError, match="reporter_actor"):
        await app.run(tip(), RESIDENT)
    with pytest.raises(RuntimeError, match="reporter_actor"):
        await app.run(tip(anonymous=False, reporter={"full_name": "An"}), RESIDENT)
    assert await emitted(app) == []


async def test_an_anonymous_tip_keeps_only_the_hash_of_its_secret_and_drops_file_metadata(app):
    evidence = [{"media_type": "image/jpeg", "size_bytes": 20480, "sha256": "a" * 64, "file_name": "IMG_An.jpg",
                 "captured_at": "2026-11-20T21:00:00+07:00"}]
    reply = await report(app, tip(evidence=evidence))
    code, secret = reply["follow_up_code"], reply["secret"]
    inc = await incident(app, reply["incident_id"])
    assert inc["reporter_identity"] is None and domain.secret_matches(secret, inc["secret_hash"])
    assert inc["follow_up_code"] == code and secret not in json.dumps({k: str(v) for k, v in inc.items()})
    assert inc["evidence"] == [{"media_type": "image/jpeg", "size_bytes": 20480, "sha256": "a" * 64}]
    assert inc["claim_verifier"] == claim_verifier(claim_secret(secret, inc["reporter_ref"]), inc["reporter_ref"])
    async with app.read() as uow:
        assert (await uow.incidents.by_follow_up_code(code))["incident_id"] == reply["incident_id"]


@pytest.mark.parametrize("change, error, problem", [
    ({"footage": [{"camera_id": "cam-unknown"}]}, InvalidInput, "not a registered camera"),
    ({"footage": [{"camera_id": OLD_CAMERA}]}, RuleViolation, "decommissioned"),
    ({"place": {"group_id": "g-nowhere"}}, InvalidInput, "unknown residential group"),
    ({"happened_at": "2099-01-01T00:00:00+07:00"}, InvalidInput, "in the future"),
])
async def test_bad_intake_is_refused_and_nothing_is_written(app, change, error, problem):
    with pytest.raises(error, match=problem):
        await report(app, tip(**change))
    assert await emitted(app) == [] and await audited(app) == []
    async with app.read() as uow:
        assert (await uow.incidents.list(WARD, _page()))["items"] == []


def _page() -> PageRequest:
    return PageRequest(50, None)


# -- the lifecycle ------------------------------------------------------------------------------------------------------
async def test_the_lifecycle_refuses_illegal_moves_and_records_who_when_why(app):
    incident_id = (await report(app))["incident_id"]
    with pytest.raises(RuleViolation, match="cannot resolve"):
        await app.run(ResolveIncident(incident_id=incident_id, outcome="solved", note="bắt được"), POLICE)
    with pytest.raises(Forbidden):
        await app.run(TriageIncident(incident_id=incident_id, note="x"), OFFICIAL)
    with pytest.raises(NotFound):  # another ward's incident answers as one that does not exist
        await app.run(TriageIncident(incident_id=incident_id, note="x"), POLICE_ELSEWHERE)

    assert (await app.run(TriageIncident(incident_id=incident_id, note="tin có cơ sở"), POLICE))["state"] == "triaged"
    with pytest.raises(InvalidInput, match="unknown team"):
        await app.run(AssignIncident(incident_id=incident_id, kind="team", team_id="t-elsewhere"), POLICE)
    with pytest.raises(InvalidInput, match="needs team_id"):
        await app.run(AssignIncident(incident_id=incident_id, kind="team"), POLICE)
    await app.run(AssignIncident(incident_id=incident_id, kind="team", team_id=ANXH_TEAM, officer="ignored"), POLICE)
    assert (await app.run(StartWork(incident_id=incident_id, note="xác minh"), POLICE))["state"] == "in_progress"
    with pytest.raises(RuleViolation):
        await app.run(CloseIncident(incident_id=incident_id), POLICE)
    solved = await app.run(ResolveIncident(incident_id=incident_id, outcome="solved", note="đã thu hồi xe"), POLICE)
    assert solved["state"] == "resolved" and solved["outcome"] == "solved"
    assert (await app.run(CloseIncident(incident_id=incident_id, note="xong"), POLICE))["state"] == "closed"
    reopened = await app.run(ReopenIncident(incident_id=incident_id, reason="có tình tiết mới"), POLICE)
    assert reopened["state"] == "in_progress" and reopened["outcome"] is None

    assert await trail(app, incident_id) == [
        ("report", None, "received", "reporter", None),
        ("triage", "received", "triaged", "ca-khu-vuc-1", "tin có cơ sở"),
        ("assign", "triaged", "assigned", "ca-khu-vuc-1", None),
        ("start", "assigned", "in_progress", "ca-khu-vuc-1", "xác minh"),
        ("resolve", "in_progress", "resolved", "ca-khu-vuc-1", "đã thu hồi xe"),
        ("close", "resolved", "closed", "ca-khu-vuc-1", "xong"),
        ("reopen", "closed", "in_progress", "ca-khu-vuc-1", "có tình tiết mới"),
    ]
    assert [c for c, _, _ in await audited(app)] == [
        "incident.report", "incident.triage", "incident.assign", "incident.start", "incident.resolve",
        "incident.close", "incident.reopen"]
    [assigned] = await of_type(app, IncidentAssigned)
    assert assigned.assignee_kind == "team" and assigned.team_id == ANXH_TEAM and assigned.officer_ref is None
    [closed] = await of_type(app, IncidentClosed)
    assert closed.outcome == "solved"


async def test_triage_makes_or_unmakes_a_crime_tip_and_its_deadline_runs_from_receipt(app):
    incident_id = (await report(app, tip(is_crime_tip=False, category="fraud")))["incident_id"]
    assert (await incident(app, incident_id))["deadline_on"] is None
    made = await app.run(TriageIncident(incident_id=incident_id, is_crime_tip=True), POLICE)
    assert made["deadline_on"] == (clock.ward_today() + timedelta(days=20)).isoformat() and made["category"] == "fraud"
    unmade = await app.run(TriageIncident(incident_id=incident_id, is_crime_tip=False, category="other"), POLICE)
    assert unmade["deadline_on"] is None and unmade["category"] == "other" and not unmade["is_crime_tip"]
    assert [e.is_crime_tip for e in await of_type(app, IncidentTriaged)] == [True, False]


async def test_a_retried_command_answers_the_first_reply_and_changes_nothing(app):
    incident_id = (await report(app))["incident_id"]
    first = await app.handle(TriageIncident(incident_id=incident_id, note="a"), POLICE, idempotency_key="k-1")
    again = await app.handle(TriageIncident(incident_id=incident_id, note="a"), POLICE, idempotency_key="k-1")
    assert again.replayed and again.body == first.body
    assert len(await of_type(app, IncidentTriaged)) == 1


# -- footage ------------------------------------------------------------------------------------------------------------
async def test_footage_is_cited_while_open_of_registered_working_cameras_and_resolving_lists_them(app):
    incident_id = await to_in_progress(app)
    await app.run(CiteFootage(incident_id=incident_id, camera_id=CAMERA), POLICE)
    with pytest.raises(InvalidInput, match="not a registered camera"):
        await app.run(CiteFootage(incident_id=incident_id, camera_id="cam-x"), POLICE)
    with pytest.raises(RuleViolation, match="decommissioned"):
        await app.run(CiteFootage(incident_id=incident_id, camera_id=OLD_CAMERA), POLICE)
    await app.run(ResolveIncident(incident_id=incident_id, outcome="solved", note="nhờ camera"), POLICE)
    with pytest.raises(RuleViolation, match="only while the incident is open"):
        await app.run(CiteFootage(incident_id=incident_id, camera_id=CAMERA), POLICE)
    [resolved] = await of_type(app, IncidentResolved)
    assert resolved.camera_ids == [CAMERA] and resolved.camera_footage_used and resolved.reporter_ref


async def test_an_incident_cites_no_more_cameras_than_its_resolved_event_may_carry(app, monkeypatch):
    assert IncidentResolved.model_fields["camera_ids"].metadata[0].max_length == domain.MAX_CAMERAS_CITED
    monkeypatch.setattr(domain, "MAX_CAMERAS_CITED", 2)  # the rule, at a size a test can reach
    cams = [f"cam-extra-{i}" for i in range(2)]
    await feed(app, *[FacilityRegistered(ward_id=WARD, subject=c, facility_id=c, group_id=GROUP,
                                         kind="security_camera", name=f"Camera {c}", location="Trần Phú")
                      for c in cams])
    incident_id = (await report(app))["incident_id"]
    await app.run(CiteFootage(incident_id=incident_id, camera_id=CAMERA), POLICE)
    await app.run(CiteFootage(incident_id=incident_id, camera_id=cams[0]), POLICE)
    await app.run(CiteFootage(incident_id=incident_id, camera_id=cams[0]), POLICE)  # the same camera: an update
    with pytest.raises(RuleViolation, match="at most 2 cameras"):
        await app.run(CiteFootage(incident_id=incident_id, camera_id=cams[1]), POLICE)


async def test_the_cameras_projection_keeps_each_camera_in_its_ward(app):
    await feed(app, FacilityDecommissioned(ward_id="hoa-binh", subject=CAMERA, facility_id=CAMERA, group_id=GROUP,
                                           kind="security_camera", decommissioned_on=date(2026, 3, 1), reason="x"),
               FacilityRegistered(ward_id="hoa-binh", subject=CAMERA, facility_id=CAMERA, group_id="g-x",
                                  kind="security_camera", name="Chiếm", location="nơi khác"),
               FacilityRegistered(ward_id=WARD, subject="fp-1", facility_id="fp-1", group_id=GROUP,
                                  kind="fire_point", name="Bình chữa cháy", location="Chợ"))
    async with app.read() as uow:
        working = await uow.projections.cameras(WARD, _page(), in_service=True)
        retired = await uow.projections.cameras(WARD, _page(), in_service=False)
        elsewhere = await uow.projections.cameras("hoa-binh", _page())
    assert [(c["facility_id"], c["name"]) for c in working["items"]] == [(CAMERA, "Camera ngã ba")]
    assert [c["facility_id"] for c in retired["items"]] == [OLD_CAMERA] and elsewhere["items"] == []


# -- crime-tip deadlines ------------------------------------------------------------------------------------------------
async def test_a_crime_tips_deadline_is_extended_once_to_at_most_two_months(app):
    incident_id = (await report(app))["incident_id"]
    received_on = clock.ward_today()
    with pytest.raises(RuleViolation, match="at most 2 months"):
        await app.run(ExtendDeadline(incident_id=incident_id, until=received_on + timedelta(days=70),
                                     reason="cần giám định"), POLICE)
    extended = await app.run(ExtendDeadline(incident_id=incident_id, reason="cần giám định"), POLICE)
    assert extended["deadline_on"] == domain.add_months(received_on, 2).isoformat() and extended["state"] == "received"
    with pytest.raises(RuleViolation, match="only once"):
        await app.run(ExtendDeadline(incident_id=incident_id, reason="lần nữa"), POLICE)
    plain = (await report(app, tip(is_crime_tip=False)))["incident_id"]
    with pytest.raises(RuleViolation, match="only a crime tip"):
        await app.run(ExtendDeadline(incident_id=plain, reason="không có hạn"), POLICE)
    decided = await to_in_progress(app)
    await app.run(ResolveIncident(incident_id=decided, outcome="unfounded", note="không có cơ sở"), POLICE)
    with pytest.raises(RuleViolation, match="already decided"):
        await app.run(ExtendDeadline(incident_id=decided, reason="muộn"), POLICE)
    assert ("extend_deadline", "received", "received", "ca-khu-vuc-1", "cần giám định") in await trail(app, incident_id)


async def test_the_overdue_check_flags_an_open_tip_once_per_deadline(app):
    incident_id = (await report(app))["incident_id"]
    deadline = (await incident(app, incident_id))["deadline_on"]
    async def check(day: date) -> int:
        return await app.job("flag-overdue-tips", lambda uow: handlers.flag_overdue_tips(uow, day))(None)

    assert await check(deadline) == 0  # the last day still counts
    assert await check(deadline + timedelta(days=1)) == 1
    assert await check(deadline + timedelta(days=2)) == 0  # flagged once
    assert (await incident(app, incident_id))["overdue_flagged_on"] == deadline
    extended = await app.run(ExtendDeadline(incident_id=incident_id, reason="cần giám định"), POLICE)
    assert extended["overdue"] is False
    new_deadline = date.fromisoformat(extended["deadline_on"])
    assert await check(new_deadline + timedelta(days=1)) == 1  # the extended deadline passed too
    assert [e.deadline_on for e in await of_type(app, IncidentOverdue)] == [deadline, new_deadline]
    decided = await to_in_progress(app)
    await app.run(ResolveIncident(incident_id=decided, outcome="solved", note="đã xử lý"), POLICE)
    assert await check(deadline + timedelta(days=400)) == 0  # a decided tip is never overdue


# -- referral to mediation ----------------------------------------------------------------------------------------------
REFERRAL = {"summary": "Hai hộ tranh chấp lối đi chung",
            "parties": [{"resident_id": "r-1", "display_name": "Hộ ông Cường"}, {"display_name": "Hộ bà Dung"}]}


def _case(event_type: type, case_id: str, incident_id: str, **more: Any) -> Any:
    return event_type(ward_id=WARD, subject=case_id, case_id=case_id, group_id=GROUP, team_id=MEDIATION_TEAM,
                      referral_incident_id=incident_id, kind="neighbours", **more)


async def test_only_a_dispute_is_referred_and_the_mediation_outcome_settles_it_once(app):
    theft = await to_in_progress(app)
    with pytest.raises(RuleViolation, match="only a dispute"):
        await app.run(ReferToMediation(incident_id=theft, **REFERRAL), POLICE)
    dispute = (await report(app, tip(category="dispute", is_crime_tip=False)))["incident_id"]
    await app.run(TriageIncident(incident_id=dispute), POLICE)
    referred = await app.run(ReferToMediation(incident_id=dispute, **REFERRAL), POLICE)
    assert referred["state"] == "resolved" and referred["outcome"] == "referred_to_mediation"
    with pytest.raises(RuleViolation, match="stays open"):
        await app.run(CloseIncident(incident_id=dispute), POLICE)
    with pytest.raises(RuleViolation, match="awaiting its outcome"):
        await app.run(ReopenIncident(incident_id=dispute, reason="thử lại"), POLICE)
    [referral] = await of_type(app, IncidentReferredToMediation)
    assert referral.parties[1].display_name == "Hộ bà Dung" and referral.parties[1].resident_id is None

    opened = _case(CaseOpened, "case-1", dispute, origin="referral")
    succeeded = _case(CaseSucceeded, "case-1", dispute, mediator_ids=["r-m1"], concluded_on=clock.ward_today())
    await feed(app, opened, succeeded, succeeded)  # a repeated outcome changes nothing
    mediated = await incident(app, dispute)
    assert mediated["outcome"] == "mediated" and mediated["mediation_case_id"] == "case-1"
    assert [e.outcome for e in await of_type(app, IncidentResolved)] == ["referred_to_mediation", "mediated"]
    assert (await app.run(CloseIncident(incident_id=dispute), POLICE))["state"] == "closed"


async def test_a_refused_mediation_returns_the_dispute_to_the_police(app):
    dispute = (await report(app, tip(category="dispute", is_crime_tip=False)))["incident_id"]
    await app.run(TriageIncident(incident_id=dispute), POLICE)
    await app.run(ReferToMediation(incident_id=dispute, **REFERRAL), POLICE)
    other_ward = CaseRefused(ward_id="hoa-binh", subject="case-x", case_id="case-x", group_id=GROUP,
                             team_id=MEDIATION_TEAM, referral_incident_id=dispute, kind="neighbours", reason="x")
    await feed(app, other_ward)  # not this ward's case: ignored
    assert (await incident(app, dispute))["state"] == "resolved"
    await feed(app, _case(CaseRefused, "case-2", dispute, reason="có dấu hiệu tội phạm"))
    back = await incident(app, dispute)
    assert back["state"] == "assigned" and back["assignee_kind"] == "police" and back["outcome"] is None
    assert "dấu hiệu tội phạm" in back["mediation_note"]
    [returned] = await of_type(app, IncidentReturnedToPolice)
    assert returned.mediation_case_id == "case-2"


# -- warnings -----------------------------------------------------------------------------------------------------------
async def test_a_warning_is_recorded_by_the_police_with_the_person_encrypted(app):
    today = clock.ward_today()
    cmd = RecordWarning(group_id=GROUP, kind="admonition", reason="tụ tập gây mất trật tự", issued_on=today,
                        person={"resident_id": "r-e", "full_name": "Lê Văn Em"})
    with pytest.raises(Forbidden):
        await app.run(cmd, OFFICIAL)
    for bad, problem in [({"group_id": "g-nowhere"}, "unknown residential group"),
                         ({"issued_on": today + timedelta(days=1)}, "in the future"),
                         ({"incident_id": "00000000-0000-0000-0000-000000000000"}, "unknown incident")]:
        with pytest.raises(InvalidInput, match=problem):
            await app.run(cmd.model_copy(update=bad), POLICE)
    reply = await app.handle(cmd, POLICE)
    assert reply.created and reply.json()["kind"] == "admonition"
    warning_id = reply.json()["warning_id"]
    async with app.read() as uow:
        [stored] = (await uow.warnings.list(WARD, GROUP, today.replace(day=1),
                                            domain.add_months(today.replace(day=1), 1), _page()))["items"]
    assert b"Em" not in bytes(stored["person"])
    assert json.loads(PII.decrypt(stored["person"], warning_context(warning_id)))["full_name"] == "Lê Văn Em"
    [event] = await of_type(app, WarningRecorded)
    assert "Lê Văn Em" not in event.model_dump_json() and "r-e" not in event.model_dump_json()
    assert (await audited(app))[-1] == ("warning.record", "warning", warning_id)


def test_commands_refuse_unknown_fields_and_report_rules_hold_without_io():
    with pytest.raises(ValueError, match="extra"):
        TriageIncident(incident_id="i", surprise=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        tip(anonymous=True, reporter={"full_name": "An"})


# -- the monthly briefing (its queries, on both repositories; the document is a pure function) --------------------------
async def test_the_briefing_counts_one_groups_month_and_names_nobody(app):
    today, now = clock.ward_today(), clock.now()
    start = today.replace(day=1)
    await report(app)
    await report(app, tip(category="fraud", is_crime_tip=False))
    await report(app, tip(place={"group_id": OTHER_GROUP}))
    dispute = (await report(app, tip(category="dispute", is_crime_tip=False)))["incident_id"]
    await app.run(TriageIncident(incident_id=dispute), POLICE)
    await app.run(ReferToMediation(incident_id=dispute, **REFERRAL), POLICE)
    await feed(app, _case(CaseOpened, "case-1", dispute, origin="referral"),
               _case(CaseSucceeded, "case-1", dispute, mediator_ids=["r-m1"], concluded_on=today),
               TemporaryResidenceRegistered(ward_id=WARD, subject="d-1", declaration_id="d-1", resident_id="r-lodger",
                                            group_id=GROUP, valid_from=date(2025, 1, 1), valid_until=today),
               TemporaryResidenceRegistered(ward_id=WARD, subject="d-2", declaration_id="d-2", resident_id="r-far",
                                            group_id=GROUP, valid_from=today, valid_until=date(2030, 1, 1)),
               TemporaryResidenceExpired(ward_id=WARD, subject="d-3", declaration_id="d-3", resident_id="r-gone",
                                         group_id=GROUP, expired_on=today),
               StayNotified(ward_id=WARD, subject="n-1", notice_id="n-1", boarding_house_id="bh-1", group_id=GROUP,
                            arrived_at=now, notified_at=now + timedelta(hours=30), late=True),
               StayNotified(ward_id=WARD, subject="n-2", notice_id="n-2", boarding_house_id="bh-1", group_id=GROUP,
                            arrived_at=now, notified_at=now, late=False))
    await app.run(RecordWarning(group_id=GROUP, kind="admonition", reason="tụ tập gây mất trật tự", issued_on=today,
                                person={"resident_id": "r-e", "full_name": "Lê Văn Em"}), POLICE)
    async with app.read() as uow:
        group = await uow.projections.group(GROUP)
        rows = await uow.briefings.month(WARD, GROUP, start, domain.add_months(start, 1))
    b = briefing.summarise(group, start.strftime("%Y-%m"), rows, today)
    assert b["incidents"] == {"total": 3, "by_category": {"dispute": 1, "fraud": 1, "theft": 1},
                              "by_state": {"received": 2, "resolved": 1}}
    assert b["warnings"]["by_kind"] == {"summons": 0, "admonition": 1} and b["warnings"]["total"] == 1
    checks = b["residence_checks"]
    assert [(r["declaration_id"], r["expired"]) for r in checks["temporary_residences_expiring_or_expired"]] == [
        ("d-1", False), ("d-3", True)]
    assert [n["notice_id"] for n in checks["late_stay_notices"]] == ["n-1"]
    assert b["mediations"]["by_status"] == {"succeeded": 1}
    assert b["mediations"]["cases"][0]["referral_incident_id"] == dispute and b["overdue_tips"] == []
    assert "Lê Văn Em" not in json.dumps(b, default=str) and "r-e" not in json.dumps(b["warnings"], default=str)
    assert "Tổ dân phố Trần Phú" in briefing.render_html(json.loads(json.dumps(b, default=str)))
