"""Assisted intake (issue 17): a group leader files a report on behalf of a resident (an elderly neighbour, someone
without a phone), recorded as such and audited.

* Who: a ``team_leader`` whose token's ``team_ids`` name teams of its ward (incidents knows each team's group from
  registry's ``TeamFormed``, ``known_teams``); the resident must live in one of those teams' groups (incidents knows
  a resident's group from registry's ``ResidentRegistered`` / ``ResidentMoved``, ``known_residents``: ids only). The
  same binding the registry and the console use for a leader (``services/registry/handlers_common.led_groups``).
* The resident is the reporter: their identity ``{resident_id, full_name, phone}`` is encrypted exactly as for their
  own identified report, and ``reporter_ref`` is their pseudonym, so the report is in their own list and counts for
  them (awards). The leader is ``entered_by`` and the actor of the audit entry and of the intake transition.
* Refused: anyone but a team leader (403); a resident the leader's teams do not cover, or one incidents does not know
  (the same 403: resident ids are not probed); a crime tip (422). A crime tip (tố giác) names a suspected offender;
  its protection is that nobody but the police knows who gave it. Filed through a neighbour, the leader would know,
  and the platform could not show that the resident chose to denounce anyone. The resident can tip anonymously
  themselves (``POST /v1/public/tips``, SMS or Zalo intake, the police station), and the police may still make an
  assisted report a crime tip at triage, once they have heard the resident.
* Never anonymous: an anonymous report filed by someone else would have a follow-up secret known to the leader.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.incidents.commands import ReportForResident
from services.incidents.domain import State, check_group, check_not_future
from services.incidents.handlers import REPORTER_PURPOSE, _facts
from services.incidents.repository import identity_context
from shared import clock
from shared.actor import Principal, Role
from shared.application import Created
from shared.contracts.incidents import IncidentReported
from shared.errors import Forbidden, RuleViolation
from shared.jsonutil import dumps

#: At most this many of a token's teams are looked up (as the registry does).
MAX_LED_TEAMS = 20
NOT_YOURS = "a team leader files a report only for a resident of a group one of their teams works in"


async def led_groups(uow: Any, actor: Principal) -> frozenset[str]:
    """The residential groups a team leader works in: those of the teams their token names, in their ward."""
    if not actor.has(Role.TEAM_LEADER):
        return frozenset()
    groups = set()
    for team_id in sorted(actor.team_ids)[:MAX_LED_TEAMS]:
        team = await uow.projections.team(team_id)
        if team is not None and team["ward_id"] == actor.ward_id:
            groups.add(team["group_id"])
    return frozenset(groups)


async def handle_report_for_resident(cmd: ReportForResident, uow: Any, actor: Principal) -> Created:
    actor.require(Role.TEAM_LEADER)
    if cmd.is_crime_tip:
        raise RuleViolation("a crime tip is not filed on someone's behalf: the resident can tip the police "
                            "anonymously themselves (the public tip page, SMS, Zalo) or at the police station")
    resident = await uow.assisted.resident(cmd.resident_id)
    if resident is None or resident["ward_id"] != actor.ward_id or resident["group_id"] not in await led_groups(
            uow, actor):
        raise Forbidden(NOT_YOURS)
    ward_id, now, pii = actor.ward_id, clock.now(), uow.pii
    check_not_future(cmd.happened_at, now)
    check_group(await uow.projections.group(cmd.place.group_id), ward_id, cmd.place.group_id)
    incident_id = str(uuid.uuid4())
    # The resident's pseudonym: the same one their own reports carry (handlers.reporter_key: their resident id).
    reporter_ref = pii.pseudonym(cmd.resident_id, REPORTER_PURPOSE)
    identity = pii.encrypt(dumps({"resident_id": cmd.resident_id, "full_name": cmd.reporter.full_name,
                                  "phone": cmd.reporter.phone}), identity_context(incident_id))
    row = {
        "incident_id": incident_id, "ward_id": ward_id, "group_id": cmd.place.group_id, "category": cmd.category,
        "is_crime_tip": False, "state": State.RECEIVED.value, "address": cmd.place.address,
        "latitude": cmd.place.latitude, "longitude": cmd.place.longitude, "happened_at": cmd.happened_at,
        "description": cmd.description, "evidence": [a.model_dump(mode="json") for a in cmd.evidence],
        "anonymous": False, "reporter_ref": reporter_ref, "reporter_identity": identity, "follow_up_code": None,
        "secret_hash": None, "claim_verifier": None, "received_at": now, "deadline_on": None,
    }
    await uow.incidents.add(row)
    await uow.assisted.mark_assisted(incident_id, actor.subject)
    await uow.incidents.add_transition(incident_id, "report", None, State.RECEIVED.value, actor.subject,
                                       "assisted intake: entered by a team leader for the resident who reports")
    uow.emit(IncidentReported(**_facts(row), category=cmd.category, is_crime_tip=False, anonymous=False,
                              happened_at=cmd.happened_at, reported_at=now, assisted=True))
    # The actor of the entry is the leader (the unit of work records who ran the command); never the resident.
    uow.audit("incident", incident_id, ward_id=ward_id,
              details={"category": cmd.category, "is_crime_tip": False, "assisted": True,
                       "entered_by": actor.subject})
    return Created({"incident_id": incident_id, "state": State.RECEIVED.value, "assisted": True})


HANDLERS = {ReportForResident: handle_report_for_resident}
