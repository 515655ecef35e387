"""Use cases of the incidents service: each loads, applies the domain rule, saves and enqueues its events on
the one connection of the caller's transaction (an HTTP command via shared.commands.execute, or a consumer).

Reporter protection lives here: the identity is encrypted before it is stored, and events get only
``reporter_ref``, the keyed pseudonym."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from services.incidents import repository as repo
from services.incidents.domain import (
    POLICE_OUTCOMES,
    Action,
    FootageCitation,
    ReportIn,
    State,
    check_not_future,
    crime_tip_deadline,
    extended_deadline,
    hash_secret,
    new_follow_up_code,
    new_secret,
    next_state,
)
from services.incidents.repository import identity_context, warning_context
from shared import clock, outbox
from shared.auth import Principal
from shared.claims import claim_secret, claim_verifier
from shared.contracts.incidents import (
    DisputeParty,
    IncidentAssigned,
    IncidentClosed,
    IncidentDeadlineExtended,
    IncidentReferredToMediation,
    IncidentReopened,
    IncidentReported,
    IncidentResolved,
    IncidentReturnedToPolice,
    IncidentTriaged,
    WarningRecorded,
)
from shared.crypto import PersonalDataProtector
from shared.errors import Forbidden, InvalidInput, RuleViolation
from shared.jsonutil import dumps

REPORTER_PURPOSE = "incidents/reporter"
ANONYMOUS_PURPOSE = "incidents/anonymous-reporter"


def reporter_key(principal: Principal) -> str:
    """What makes one reporter the same reporter: their resident id, or failing that their user id."""
    return principal.resident_id or f"user:{principal.subject}"


def _facts(inc: asyncpg.Record) -> dict[str, Any]:
    return {"ward_id": inc["ward_id"], "subject": inc["incident_id"], "incident_id": inc["incident_id"],
            "group_id": inc["group_id"]}


async def _known_group(conn: asyncpg.Connection, group_id: str, ward_id: str) -> None:
    g = await repo.group(conn, group_id)
    if g is None or g["ward_id"] != ward_id:
        raise InvalidInput(f"unknown residential group {group_id!r} in this ward")


async def _check_cameras(conn: asyncpg.Connection, ward_id: str, cites: list[FootageCitation]) -> None:
    for cite in cites:
        cam = await repo.camera(conn, cite.camera_id)
        if cam is None or cam["ward_id"] != ward_id:
            raise InvalidInput(f"camera {cite.camera_id!r} is not a registered camera of this ward")
        if cam["decommissioned_on"] is not None:
            raise RuleViolation(f"camera {cite.camera_id!r} was decommissioned on {cam['decommissioned_on']}")


# -- intake ------------------------------------------------------------------------------------------------------
async def report(
    conn: asyncpg.Connection, pii: PersonalDataProtector, principal: Principal, body: ReportIn
) -> tuple[dict[str, Any], asyncpg.Record]:
    ward_id = principal.ward_id
    now = clock.now()
    check_not_future(body.happened_at, now)
    await _known_group(conn, body.place.group_id, ward_id)
    await _check_cameras(conn, ward_id, body.footage)
    incident_id = str(uuid.uuid4())
    reply: dict[str, Any] = {"incident_id": incident_id, "state": State.RECEIVED.value}
    if body.anonymous:
        code, secret = new_follow_up_code(), new_secret()
        reporter_ref, identity, secret_hash = pii.pseudonym(code, ANONYMOUS_PURPOSE), None, hash_secret(secret)
        # What awards will need to accept a claim from this reporter, and nothing from which to find the secret.
        verifier = claim_verifier(claim_secret(secret, reporter_ref), reporter_ref)
        reply.update(follow_up_code=code, secret=secret,
                     notice="Keep the code and the secret: they are shown only now and cannot be recovered.")
    else:
        assert body.reporter is not None
        code = secret_hash = verifier = None
        reporter_ref = pii.pseudonym(reporter_key(principal), REPORTER_PURPOSE)
        identity = pii.encrypt(dumps({"resident_id": principal.resident_id, "full_name": body.reporter.full_name,
                                      "phone": body.reporter.phone}), identity_context(incident_id))
    received_on = clock.in_ward_time(now).date()
    await repo.insert_incident(conn, {
        "incident_id": incident_id, "ward_id": ward_id, "group_id": body.place.group_id, "category": body.category,
        "is_crime_tip": body.is_crime_tip, "state": State.RECEIVED.value, "address": body.place.address,
        "latitude": body.place.latitude, "longitude": body.place.longitude, "happened_at": body.happened_at,
        "description": body.description, "evidence": body.stored_evidence(), "anonymous": body.anonymous,
        "reporter_ref": reporter_ref, "reporter_identity": identity, "follow_up_code": code,
        "secret_hash": secret_hash, "claim_verifier": verifier, "received_at": now,
        "deadline_on": crime_tip_deadline(received_on) if body.is_crime_tip else None,
    })
    for cite in body.footage:
        await repo.add_footage(conn, incident_id, cite.camera_id, cite.footage_from, cite.footage_to)
    # The intake's actor is "reporter", never who: the trail must not link a person to a tip.
    await repo.add_transition(conn, incident_id, "report", None, State.RECEIVED.value, "reporter", None)
    inc = await repo.get_incident(conn, incident_id)
    assert inc is not None
    await outbox.enqueue(conn, IncidentReported(
        **_facts(inc), category=body.category, is_crime_tip=body.is_crime_tip, anonymous=body.anonymous,
        happened_at=body.happened_at, reported_at=now,
    ))
    return reply, inc


# -- lifecycle ---------------------------------------------------------------------------------------------------
async def load_for_change(conn: asyncpg.Connection, principal: Principal, incident_id: str) -> asyncpg.Record:
    inc = await repo.get_incident(conn, incident_id, for_update=True)
    principal.ensure_reaches(inc["ward_id"] if inc else None, "no such incident")
    return inc


async def _move(
    conn: asyncpg.Connection, inc: asyncpg.Record, action: Action, actor: str, reason: str | None, **fields: Any
) -> asyncpg.Record:
    target = next_state(inc["state"], action, outcome=inc["outcome"])
    await repo.update_incident(conn, inc["incident_id"], state=target.value, **fields)
    await repo.add_transition(conn, inc["incident_id"], action.value, inc["state"], target.value, actor, reason)
    updated = await repo.get_incident(conn, inc["incident_id"])
    assert updated is not None
    return updated


async def triage(conn: asyncpg.Connection, inc: asyncpg.Record, actor: str, category: str | None,
                 is_crime_tip: bool | None, note: str | None) -> asyncpg.Record:
    tip = inc["is_crime_tip"] if is_crime_tip is None else is_crime_tip
    deadline = inc["deadline_on"]
    if tip and deadline is None:  # became a crime tip at triage: the 20 days still run from receipt
        deadline = crime_tip_deadline(clock.in_ward_time(inc["received_at"]).date())
    if not tip:
        deadline = None
    inc = await _move(conn, inc, Action.TRIAGE, actor, note, category=category or inc["category"],
                      is_crime_tip=tip, deadline_on=deadline)
    await outbox.enqueue(conn, IncidentTriaged(**_facts(inc), category=inc["category"], is_crime_tip=tip,
                                               deadline_on=deadline))
    return inc


async def assign(conn: asyncpg.Connection, inc: asyncpg.Record, actor: str, kind: str, team_id: str | None,
                 officer: str | None, note: str | None) -> asyncpg.Record:
    if kind == "team":
        if not team_id:
            raise InvalidInput("assigning to a team needs team_id")
        team = await repo.team(conn, team_id)
        if team is None or team["ward_id"] != inc["ward_id"]:
            raise InvalidInput(f"unknown team {team_id!r} in this ward")
        officer = None
    else:
        team_id = None
    inc = await _move(conn, inc, Action.ASSIGN, actor, note, assignee_kind=kind, assignee_team_id=team_id,
                      assignee_officer=officer)
    await outbox.enqueue(conn, IncidentAssigned(**_facts(inc), assignee_kind=kind, team_id=team_id,
                                                officer_ref=officer))
    return inc


async def start(conn: asyncpg.Connection, inc: asyncpg.Record, actor: str, note: str | None) -> asyncpg.Record:
    return await _move(conn, inc, Action.START, actor, note)


#: The cameras one incident may cite (``IncidentResolved.camera_ids`` carries them all).
MAX_CAMERAS_CITED = 200


async def cite_footage(conn: asyncpg.Connection, inc: asyncpg.Record, cite: FootageCitation) -> None:
    if inc["state"] in (State.RESOLVED, State.CLOSED):
        raise RuleViolation("footage can be cited only while the incident is open")
    await _check_cameras(conn, inc["ward_id"], [cite])
    cited = {r["camera_id"] for r in await repo.footage(conn, inc["incident_id"])}
    if cite.camera_id not in cited and len(cited) >= MAX_CAMERAS_CITED:
        raise RuleViolation(f"an incident cites at most {MAX_CAMERAS_CITED} cameras")
    await repo.add_footage(conn, inc["incident_id"], cite.camera_id, cite.footage_from, cite.footage_to)


async def _resolved_event(conn: asyncpg.Connection, inc: asyncpg.Record) -> IncidentResolved:
    cameras = [r["camera_id"] for r in await repo.footage(conn, inc["incident_id"])]
    return IncidentResolved(
        **_facts(inc), category=inc["category"], is_crime_tip=inc["is_crime_tip"], outcome=inc["outcome"],
        camera_footage_used=bool(cameras), camera_ids=cameras, reporter_ref=inc["reporter_ref"],
        reporter_claim_verifier=inc["claim_verifier"], resolved_at=inc["resolved_at"],
    )


async def resolve(conn: asyncpg.Connection, inc: asyncpg.Record, actor: str, outcome: str, note: str) -> asyncpg.Record:
    if outcome not in POLICE_OUTCOMES:
        raise InvalidInput(f"outcome must be one of {sorted(POLICE_OUTCOMES)}; referral has its own command")
    inc = await _move(conn, inc, Action.RESOLVE, actor, note, outcome=outcome, resolution_note=note,
                      resolved_at=clock.now())
    await outbox.enqueue(conn, await _resolved_event(conn, inc))
    return inc


async def refer_to_mediation(conn: asyncpg.Connection, inc: asyncpg.Record, actor: str, summary: str,
                             parties: list[DisputeParty]) -> asyncpg.Record:
    if inc["category"] != "dispute":
        raise RuleViolation("only a dispute can be referred to mediation")
    now = clock.now()
    inc = await _move(conn, inc, Action.REFER_TO_MEDIATION, actor, summary, outcome="referred_to_mediation",
                      resolution_note=summary, resolved_at=now)
    await outbox.enqueue(
        conn,
        IncidentReferredToMediation(**_facts(inc), summary=summary, parties=parties, referred_at=now),
        await _resolved_event(conn, inc),
    )
    return inc


async def extend_deadline(conn: asyncpg.Connection, inc: asyncpg.Record, actor: str, until: date | None,
                          reason: str) -> asyncpg.Record:
    if not inc["is_crime_tip"] or inc["deadline_on"] is None:
        raise RuleViolation("only a crime tip has a deadline to extend")
    if inc["state"] not in (State.RECEIVED, State.TRIAGED, State.ASSIGNED, State.IN_PROGRESS):
        raise RuleViolation("the tip is already decided")
    received_on = clock.in_ward_time(inc["received_at"]).date()
    new = extended_deadline(received_on, inc["deadline_on"], inc["deadline_extended"], until)
    await repo.update_incident(conn, inc["incident_id"], deadline_on=new, deadline_extended=True)
    await repo.add_transition(conn, inc["incident_id"], "extend_deadline", inc["state"], inc["state"], actor, reason)
    await outbox.enqueue(conn, IncidentDeadlineExtended(**_facts(inc), previous_deadline_on=inc["deadline_on"],
                                                        deadline_on=new))
    updated = await repo.get_incident(conn, inc["incident_id"])
    assert updated is not None
    return updated


async def close(conn: asyncpg.Connection, inc: asyncpg.Record, actor: str, note: str | None) -> asyncpg.Record:
    inc = await _move(conn, inc, Action.CLOSE, actor, note, closed_at=clock.now())
    await outbox.enqueue(conn, IncidentClosed(**_facts(inc), outcome=inc["outcome"]))
    return inc


async def reopen(conn: asyncpg.Connection, inc: asyncpg.Record, actor: str, reason: str) -> asyncpg.Record:
    inc = await _move(conn, inc, Action.REOPEN, actor, reason, outcome=None, resolved_at=None, closed_at=None)
    await outbox.enqueue(conn, IncidentReopened(**_facts(inc), reason=reason))
    return inc


# -- mediation outcome (called by consumers) ---------------------------------------------------------------------
async def mediation_succeeded(conn: asyncpg.Connection, inc: asyncpg.Record, case_id: str) -> None:
    inc = await _move(conn, inc, Action.MEDIATED, "mediation", f"mediation case {case_id} succeeded",
                      outcome="mediated", mediation_case_id=case_id, resolved_at=clock.now())
    await outbox.enqueue(conn, await _resolved_event(conn, inc))


async def mediation_gave_back(conn: asyncpg.Connection, inc: asyncpg.Record, case_id: str, reason: str) -> None:
    inc = await _move(conn, inc, Action.RETURN_TO_POLICE, "mediation", reason, outcome=None, resolved_at=None,
                      mediation_case_id=case_id, mediation_note=reason, assignee_kind="police",
                      assignee_team_id=None)
    await outbox.enqueue(conn, IncidentReturnedToPolice(**_facts(inc), reason=reason, mediation_case_id=case_id))


# -- warnings (gọi hỏi, răn đe) -----------------------------------------------------------------------------------
async def record_warning(conn: asyncpg.Connection, pii: PersonalDataProtector, principal: Principal, *,
                         group_id: str, kind: str, person: dict[str, Any], reason: str, issued_on: date,
                         incident_id: str | None) -> dict[str, Any]:
    await _known_group(conn, group_id, principal.ward_id)
    if issued_on > clock.ward_today():
        raise InvalidInput("issued_on is in the future")
    if incident_id is not None:
        inc = await repo.get_incident(conn, incident_id)
        if inc is None or inc["ward_id"] != principal.ward_id:
            raise InvalidInput("unknown incident in this ward")
    warning_id = str(uuid.uuid4())
    await repo.insert_warning(conn, {
        "warning_id": warning_id, "ward_id": principal.ward_id, "group_id": group_id, "kind": kind,
        "person": pii.encrypt(dumps(person), warning_context(warning_id)), "reason": reason,
        "issued_on": issued_on, "incident_id": incident_id, "recorded_by": principal.subject,
    })
    await outbox.enqueue(conn, WarningRecorded(ward_id=principal.ward_id, subject=warning_id, warning_id=warning_id,
                                               group_id=group_id, kind=kind, issued_on=issued_on,
                                               incident_id=incident_id))
    return {"warning_id": warning_id, "group_id": group_id, "kind": kind, "issued_on": issued_on}


def ensure_police_or_official(principal: Principal) -> None:
    if not principal.has("police", "ward_official", "city_official", "admin"):
        raise Forbidden("requires the police or a ward official")

