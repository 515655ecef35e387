"""What each role may see of an incident. Only the police role ever gets the reporter's identity decrypted."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from services.incidents import repository as repo
from services.incidents.commands import REPORTER_PURPOSE, identity_context, reporter_key
from shared.auth import Principal, Role
from shared.crypto import PersonalDataProtector
from shared.errors import NotFound

STAFF = (Role.POLICE, Role.WARD_OFFICIAL, Role.CITY_OFFICIAL, Role.ADMIN)


def is_staff(principal: Principal) -> bool:
    return principal.has(*STAFF)


def owns(principal: Principal, pii: PersonalDataProtector, inc: asyncpg.Record) -> bool:
    """A resident's own (identified) report; anonymous tips are followed up only with code and secret."""
    return not inc["anonymous"] and inc["reporter_ref"] == pii.pseudonym(reporter_key(principal), REPORTER_PURPOSE)


def can_see(principal: Principal, pii: PersonalDataProtector, inc: asyncpg.Record) -> bool:
    if not principal.can_access_ward(inc["ward_id"]):
        return False
    return is_staff(principal) or owns(principal, pii, inc)


def summary(inc: asyncpg.Record) -> dict[str, Any]:
    return {
        "incident_id": inc["incident_id"], "group_id": inc["group_id"], "category": inc["category"],
        "is_crime_tip": inc["is_crime_tip"], "state": inc["state"], "outcome": inc["outcome"],
        "received_at": inc["received_at"], "deadline_on": inc["deadline_on"],
        "overdue": inc["overdue_flagged_on"] is not None and inc["overdue_flagged_on"] == inc["deadline_on"]
        and inc["state"] not in ("resolved", "closed"),
    }


async def detail(conn: asyncpg.Connection, principal: Principal, pii: PersonalDataProtector,
                 inc: asyncpg.Record) -> dict[str, Any]:
    if not can_see(principal, pii, inc):
        # 404 rather than 403 for another resident's report: its existence is not theirs to learn.
        raise NotFound("no such incident")
    body = summary(inc) | {
        "place": {"address": inc["address"], "latitude": inc["latitude"], "longitude": inc["longitude"]},
        "happened_at": inc["happened_at"], "description": inc["description"], "evidence": inc["evidence"],
        "footage": [dict(r) for r in await repo.footage(conn, inc["incident_id"])],
        "assignee": {"kind": inc["assignee_kind"], "team_id": inc["assignee_team_id"],
                     "officer": inc["assignee_officer"]},
        "resolution_note": inc["resolution_note"], "mediation_case_id": inc["mediation_case_id"],
        "mediation_note": inc["mediation_note"], "anonymous": inc["anonymous"],
    }
    if is_staff(principal):
        body["reporter_ref"] = inc["reporter_ref"]
    if principal.has(Role.POLICE) and principal.can_access_ward(inc["ward_id"]):
        body["reporter"] = (None if inc["anonymous"] else
                            json.loads(pii.decrypt(inc["reporter_identity"], identity_context(inc["incident_id"]))))
    return body
