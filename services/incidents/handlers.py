"""Handlers of the incidents commands: each loads through the unit of work's repositories, applies the rules of
``domain.py``, saves, emits its events and names what it changed for the audit trail.

Reporter protection lives here: the identity is encrypted before it is stored, events get only
``reporter_ref`` (the keyed pseudonym), and a report is audited under ``reporter_actor`` (a pseudonym, or
"anonymous"), never under the caller's own token."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from typing import Any

from services.incidents import views
from services.incidents.commands import (
    AssignIncident,
    CiteFootage,
    CloseIncident,
    DiscloseReporter,
    ExtendDeadline,
    RecordWarning,
    ReferToMediation,
    ReopenIncident,
    ReportIncident,
    ResolveIncident,
    StartWork,
    TriageIncident,
)
from services.incidents.domain import (
    Action,
    State,
    awaits_mediation,
    check_camera,
    check_group,
    check_issued_on,
    check_not_future,
    check_team,
    crime_tip_deadline,
    ensure_extendable,
    ensure_footage_may_be_cited,
    ensure_may_see,
    ensure_referable,
    extended_deadline,
    hash_secret,
    is_overdue,
    new_follow_up_code,
    new_secret,
    next_state,
    triaged_deadline,
)
from services.incidents.repository import identity_context, warning_context
from shared import clock
from shared.actor import Principal, Role
from shared.application import Created
from shared.claims import claim_secret, claim_verifier
from shared.contracts.incidents import (
    IncidentAssigned,
    IncidentClosed,
    IncidentDeadlineExtended,
    IncidentOverdue,
    IncidentReferredToMediation,
    IncidentReopened,
    IncidentReported,
    IncidentResolved,
    IncidentReturnedToPolice,
    IncidentTriaged,
    WarningRecorded,
)
from shared.crypto import PersonalDataProtector
from shared.errors import InvalidInput, RuleViolation
from shared.jsonutil import dumps

REPORTER_PURPOSE = "incidents/reporter"
ANONYMOUS_PURPOSE = "incidents/anonymous-reporter"
ANONYMOUS = "anonymous"
_REPORTER = "reporter:"

Row = dict[str, Any]


# -- who a reporter is, for the audit trail ----------------------------------------------------------------------
def reporter_key(principal: Principal) -> str:
    """What makes one reporter the same reporter: their resident id, or failing that their user id."""
    return principal.resident_id or f"user:{principal.subject}"


def own_reporter_ref(principal: Principal, pii: PersonalDataProtector) -> str:
    """The pseudonym the caller's identified reports carry."""
    return pii.pseudonym(reporter_key(principal), REPORTER_PURPOSE)


def reporter_actor(principal: Principal, pii: PersonalDataProtector, *, anonymous: bool) -> Principal:
    """Whom a report is run (and audited) as: for an anonymous tip nothing of the caller's token, not even in
    the audit trail; for an identified report the reporter's pseudonym (the resident id stays, to be encrypted
    with the identity)."""
    if anonymous:
        return Principal(subject=ANONYMOUS, roles=frozenset({Role.RESIDENT}), ward_id=principal.ward_id)
    return dataclasses.replace(principal, subject=_REPORTER + own_reporter_ref(principal, pii))


def _facts(inc: Row) -> dict[str, Any]:
    return {"ward_id": inc["ward_id"], "subject": inc["incident_id"], "incident_id": inc["incident_id"],
            "group_id": inc["group_id"]}


async def _check_cameras(uow: Any, ward_id: str, camera_ids: list[str]) -> None:
    for camera_id in camera_ids:
        check_camera(await uow.projections.camera(camera_id), ward_id, camera_id)


# -- intake ------------------------------------------------------------------------------------------------------
async def handle_report(cmd: ReportIncident, uow: Any, actor: Principal) -> Created:
    if not (actor.subject == ANONYMOUS if cmd.anonymous else actor.subject.startswith(_REPORTER)):
        raise RuntimeError("a report runs as reporter_actor(...): the audit trail must not name the reporter")
    ward_id, now, pii = actor.ward_id, clock.now(), uow.pii
    check_not_future(cmd.happened_at, now)
    check_group(await uow.projections.group(cmd.place.group_id), ward_id, cmd.place.group_id)
    await _check_cameras(uow, ward_id, [f.camera_id for f in cmd.footage])
    incident_id = str(uuid.uuid4())
    reply: dict[str, Any] = {"incident_id": incident_id, "state": State.RECEIVED.value}
    if cmd.anonymous:
        code, secret = new_follow_up_code(), new_secret()
        reporter_ref, identity, secret_hash = pii.pseudonym(code, ANONYMOUS_PURPOSE), None, hash_secret(secret)
        # What awards will need to accept a claim from this reporter, and nothing from which to find the secret.
        verifier = claim_verifier(claim_secret(secret, reporter_ref), reporter_ref)
        reply.update(follow_up_code=code, secret=secret,
                     notice="Keep the code and the secret: they are shown only now and cannot be recovered.")
    else:
        assert cmd.reporter is not None
        code = secret_hash = verifier = None
        reporter_ref = actor.subject.removeprefix(_REPORTER)
        identity = pii.encrypt(dumps({"resident_id": actor.resident_id, "full_name": cmd.reporter.full_name,
                                      "phone": cmd.reporter.phone}), identity_context(incident_id))
    received_on = clock.in_ward_time(now).date()
    row = {
        "incident_id": incident_id, "ward_id": ward_id, "group_id": cmd.place.group_id, "category": cmd.category,
        "is_crime_tip": cmd.is_crime_tip, "state": State.RECEIVED.value, "address": cmd.place.address,
        "latitude": cmd.place.latitude, "longitude": cmd.place.longitude, "happened_at": cmd.happened_at,
        "description": cmd.description, "evidence": cmd.stored_evidence(), "anonymous": cmd.anonymous,
        "reporter_ref": reporter_ref, "reporter_identity": identity, "follow_up_code": code,
        "secret_hash": secret_hash, "claim_verifier": verifier, "received_at": now,
        "deadline_on": crime_tip_deadline(received_on) if cmd.is_crime_tip else None,
    }
    await uow.incidents.add(row)
    for cite in cmd.footage:
        await uow.incidents.add_footage(incident_id, cite.camera_id, cite.footage_from, cite.footage_to)
    # The intake's actor is "reporter", never who: the trail must not link a person to a tip.
    await uow.incidents.add_transition(incident_id, "report", None, State.RECEIVED.value, "reporter", None)
    uow.emit(IncidentReported(
        **_facts(row), category=cmd.category, is_crime_tip=cmd.is_crime_tip, anonymous=cmd.anonymous,
        happened_at=cmd.happened_at, reported_at=now,
    ))
    uow.audit("incident", incident_id, ward_id=ward_id,
              details={"category": cmd.category, "is_crime_tip": cmd.is_crime_tip})
    return Created(reply)


# -- lifecycle ---------------------------------------------------------------------------------------------------
async def _load(uow: Any, actor: Principal, incident_id: str) -> Row:
    """The incident a police command changes (locked): the police's role first, then one of another ward
    answers as one that does not exist."""
    actor.require(Role.POLICE)
    inc = await uow.incidents.get(incident_id, for_update=True)
    actor.ensure_reaches(inc["ward_id"] if inc else None, "no such incident")
    return inc


async def _move(uow: Any, inc: Row, action: Action, actor: str, reason: str | None, **fields: Any) -> Row:
    target = next_state(inc["state"], action, outcome=inc["outcome"])
    await uow.incidents.update(inc["incident_id"], state=target.value, **fields)
    await uow.incidents.add_transition(inc["incident_id"], action.value, inc["state"], target.value, actor, reason)
    return await uow.incidents.get(inc["incident_id"])


def _done(uow: Any, before: Row, after: Row, **details: Any) -> dict[str, Any]:
    uow.audit("incident", after["incident_id"], ward_id=after["ward_id"],
              details={"from": before["state"], "to": after["state"], **details})
    return views.summary(after)


async def _resolved_event(uow: Any, inc: Row) -> IncidentResolved:
    cameras = [r["camera_id"] for r in await uow.incidents.footage(inc["incident_id"])]
    return IncidentResolved(
        **_facts(inc), category=inc["category"], is_crime_tip=inc["is_crime_tip"], outcome=inc["outcome"],
        camera_footage_used=bool(cameras), camera_ids=cameras, reporter_ref=inc["reporter_ref"],
        reporter_claim_verifier=inc["claim_verifier"], resolved_at=inc["resolved_at"],
    )


async def handle_triage(cmd: TriageIncident, uow: Any, actor: Principal) -> dict[str, Any]:
    inc = await _load(uow, actor, cmd.incident_id)
    tip = inc["is_crime_tip"] if cmd.is_crime_tip is None else cmd.is_crime_tip
    deadline = triaged_deadline(tip, inc["deadline_on"], clock.in_ward_time(inc["received_at"]).date())
    after = await _move(uow, inc, Action.TRIAGE, actor.subject, cmd.note, category=cmd.category or inc["category"],
                        is_crime_tip=tip, deadline_on=deadline)
    uow.emit(IncidentTriaged(**_facts(after), category=after["category"], is_crime_tip=tip, deadline_on=deadline))
    return _done(uow, inc, after)


async def handle_assign(cmd: AssignIncident, uow: Any, actor: Principal) -> dict[str, Any]:
    inc = await _load(uow, actor, cmd.incident_id)
    team_id, officer = cmd.team_id, cmd.officer
    if cmd.kind == "team":
        if not team_id:
            raise InvalidInput("assigning to a team needs team_id")
        check_team(await uow.projections.team(team_id), inc["ward_id"], team_id)
        officer = None
    else:
        team_id = None
    after = await _move(uow, inc, Action.ASSIGN, actor.subject, cmd.note, assignee_kind=cmd.kind,
                        assignee_team_id=team_id, assignee_officer=officer)
    uow.emit(IncidentAssigned(**_facts(after), assignee_kind=cmd.kind, team_id=team_id, officer_ref=officer))
    return _done(uow, inc, after)


async def handle_start(cmd: StartWork, uow: Any, actor: Principal) -> dict[str, Any]:
    inc = await _load(uow, actor, cmd.incident_id)
    return _done(uow, inc, await _move(uow, inc, Action.START, actor.subject, cmd.note))


async def handle_cite_footage(cmd: CiteFootage, uow: Any, actor: Principal) -> dict[str, Any]:
    inc = await _load(uow, actor, cmd.incident_id)
    cited = {r["camera_id"] for r in await uow.incidents.footage(inc["incident_id"])}
    ensure_footage_may_be_cited(inc["state"], cited, cmd.camera_id)
    await _check_cameras(uow, inc["ward_id"], [cmd.camera_id])
    await uow.incidents.add_footage(inc["incident_id"], cmd.camera_id, cmd.footage_from, cmd.footage_to)
    return _done(uow, inc, inc, camera_id=cmd.camera_id)


async def handle_resolve(cmd: ResolveIncident, uow: Any, actor: Principal) -> dict[str, Any]:
    inc = await _load(uow, actor, cmd.incident_id)
    after = await _move(uow, inc, Action.RESOLVE, actor.subject, cmd.note, outcome=cmd.outcome,
                        resolution_note=cmd.note, resolved_at=clock.now())
    uow.emit(await _resolved_event(uow, after))
    return _done(uow, inc, after, outcome=cmd.outcome)


async def handle_refer(cmd: ReferToMediation, uow: Any, actor: Principal) -> dict[str, Any]:
    inc = await _load(uow, actor, cmd.incident_id)
    ensure_referable(inc["category"])
    now = clock.now()
    after = await _move(uow, inc, Action.REFER_TO_MEDIATION, actor.subject, cmd.summary,
                        outcome="referred_to_mediation", resolution_note=cmd.summary, resolved_at=now)
    uow.emit(IncidentReferredToMediation(**_facts(after), summary=cmd.summary, parties=cmd.parties, referred_at=now),
             await _resolved_event(uow, after))
    return _done(uow, inc, after)


async def handle_extend_deadline(cmd: ExtendDeadline, uow: Any, actor: Principal) -> dict[str, Any]:
    inc = await _load(uow, actor, cmd.incident_id)
    ensure_extendable(inc["is_crime_tip"], inc["deadline_on"], inc["state"])
    received_on = clock.in_ward_time(inc["received_at"]).date()
    new = extended_deadline(received_on, inc["deadline_on"], inc["deadline_extended"], cmd.until)
    await uow.incidents.update(inc["incident_id"], deadline_on=new, deadline_extended=True)
    await uow.incidents.add_transition(inc["incident_id"], "extend_deadline", inc["state"], inc["state"],
                                       actor.subject, cmd.reason)
    uow.emit(IncidentDeadlineExtended(**_facts(inc), previous_deadline_on=inc["deadline_on"], deadline_on=new))
    return _done(uow, inc, await uow.incidents.get(inc["incident_id"]))


async def handle_close(cmd: CloseIncident, uow: Any, actor: Principal) -> dict[str, Any]:
    inc = await _load(uow, actor, cmd.incident_id)
    after = await _move(uow, inc, Action.CLOSE, actor.subject, cmd.note, closed_at=clock.now())
    uow.emit(IncidentClosed(**_facts(after), outcome=after["outcome"]))
    return _done(uow, inc, after)


async def handle_reopen(cmd: ReopenIncident, uow: Any, actor: Principal) -> dict[str, Any]:
    inc = await _load(uow, actor, cmd.incident_id)
    if inc.get("merged_into"):  # its reporter and supporters count on the survivor now (handlers_places)
        raise RuleViolation(f"a merged report is not reopened: reopen {inc['merged_into']}, which it was merged into")
    after = await _move(uow, inc, Action.REOPEN, actor.subject, cmd.reason, outcome=None, resolved_at=None,
                        closed_at=None)
    uow.emit(IncidentReopened(**_facts(after), reason=cmd.reason))
    return _done(uow, inc, after, reason=cmd.reason)


# -- the mediation case's outcome (arrives as mediation's events: consumers.py) ----------------------------------
async def referred_incident(uow: Any, incident_id: str | None, ward_id: str) -> Row | None:
    """The incident a case was referred from, if it is ours (same ward) and still awaits the outcome."""
    if not incident_id:
        return None
    inc = await uow.incidents.get(incident_id, for_update=True)
    if inc is None or inc["ward_id"] != ward_id or not awaits_mediation(inc["state"], inc["outcome"]):
        return None  # not ours, or already settled (a repeat, or the incident was handled otherwise meanwhile)
    return inc


async def settle_by_mediation(uow: Any, inc: Row, case_id: str) -> None:
    after = await _move(uow, inc, Action.MEDIATED, "mediation", f"mediation case {case_id} succeeded",
                        outcome="mediated", mediation_case_id=case_id, resolved_at=clock.now())
    uow.emit(await _resolved_event(uow, after))


async def return_to_police(uow: Any, inc: Row, case_id: str, reason: str) -> None:
    after = await _move(uow, inc, Action.RETURN_TO_POLICE, "mediation", reason, outcome=None, resolved_at=None,
                        mediation_case_id=case_id, mediation_note=reason, assignee_kind="police",
                        assignee_team_id=None)
    uow.emit(IncidentReturnedToPolice(**_facts(after), reason=reason, mediation_case_id=case_id))


async def handle_disclose_reporter(cmd: DiscloseReporter, uow: Any, actor: Principal) -> dict[str, Any]:
    """The reporter's identity, for the police of the incident's ward only; audited (the identity is not in the
    trail). An incident of another ward, or any other role, learns nothing (404 / 403)."""
    actor.require(Role.POLICE)
    inc = ensure_may_see(actor, await uow.incidents.get(cmd.incident_id), None)
    uow.audit("incident", inc["incident_id"], ward_id=inc["ward_id"], details={"disclosed": "reporter"})
    return {"incident_id": inc["incident_id"], "anonymous": inc["anonymous"],
            "reporter": views.reporter_identity(uow.pii, inc)}


# -- warnings (gọi hỏi, răn đe) -----------------------------------------------------------------------------------
async def handle_record_warning(cmd: RecordWarning, uow: Any, actor: Principal) -> Created:
    actor.require(Role.POLICE)
    check_group(await uow.projections.group(cmd.group_id), actor.ward_id, cmd.group_id)
    check_issued_on(cmd.issued_on, clock.ward_today())
    if cmd.incident_id is not None:
        inc = await uow.incidents.get(cmd.incident_id)
        if inc is None or inc["ward_id"] != actor.ward_id:
            raise InvalidInput("unknown incident in this ward")
    warning_id = str(uuid.uuid4())
    await uow.warnings.add({
        "warning_id": warning_id, "ward_id": actor.ward_id, "group_id": cmd.group_id, "kind": cmd.kind,
        "person": uow.pii.encrypt(dumps(cmd.person.model_dump()), warning_context(warning_id)),
        "reason": cmd.reason, "issued_on": cmd.issued_on, "incident_id": cmd.incident_id,
        "recorded_by": actor.subject,
    })
    uow.emit(WarningRecorded(ward_id=actor.ward_id, subject=warning_id, warning_id=warning_id,
                             group_id=cmd.group_id, kind=cmd.kind, issued_on=cmd.issued_on,
                             incident_id=cmd.incident_id))
    uow.audit("warning", warning_id, ward_id=actor.ward_id, details={"kind": cmd.kind, "group_id": cmd.group_id})
    return Created({"warning_id": warning_id, "group_id": cmd.group_id, "kind": cmd.kind,
                    "issued_on": cmd.issued_on})


# -- the scheduled check -------------------------------------------------------------------------------------------
async def flag_overdue_tips(uow: Any, today: date | None = None) -> int:
    """Flag crime tips past their deadline and emit IncidentOverdue once per deadline (an extended deadline
    that passes too is flagged again). Returns how many were flagged."""
    today = today or clock.ward_today()
    flagged = 0
    for inc in await uow.incidents.open_tips_past_deadline(today):
        if not is_overdue(inc["state"], inc["deadline_on"], inc["overdue_flagged_on"], today):
            continue
        await uow.incidents.update(inc["incident_id"], overdue_flagged_on=inc["deadline_on"])
        await uow.incidents.add_transition(inc["incident_id"], "flag_overdue", inc["state"], inc["state"],
                                           "scheduler", f"deadline {inc['deadline_on'].isoformat()} passed")
        uow.emit(IncidentOverdue(**_facts(inc), category=inc["category"], deadline_on=inc["deadline_on"],
                                 received_at=inc["received_at"]))
        flagged += 1
    return flagged


HANDLERS = {
    ReportIncident: handle_report,
    TriageIncident: handle_triage,
    AssignIncident: handle_assign,
    StartWork: handle_start,
    CiteFootage: handle_cite_footage,
    ResolveIncident: handle_resolve,
    ReferToMediation: handle_refer,
    ExtendDeadline: handle_extend_deadline,
    CloseIncident: handle_close,
    ReopenIncident: handle_reopen,
    DiscloseReporter: handle_disclose_reporter,
    RecordWarning: handle_record_warning,
}
