"""The JSON shapes of a case and a team, as the API returns them."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.mediation import domain, repository
from shared.clock import ward_today


async def case_view(conn: asyncpg.Connection, row: asyncpg.Record) -> dict[str, Any]:
    case_id = row["case_id"]
    parties = await repository.parties(conn, case_id)
    mediators = await repository.case_mediators(conn, case_id)
    first_assigned = min((m["assigned_on"] for m in mediators), default=None)
    return {
        "case_id": case_id,
        "ward_id": row["ward_id"],
        "group_id": row["group_id"],
        "team_id": row["team_id"],
        "referral_incident_id": row["referral_incident_id"],
        "origin": row["origin"],
        "kind": row["kind"],
        "summary": row["summary"],
        "status": row["status"],
        "received_at": row["received_at"],
        "received_on": row["received_on"],
        "assignment_due": row["assignment_due"],
        # Flagged when the leader assigned after the legal period, or has not assigned and it has passed.
        "assignment_late": (
            domain.assignment_late(row["assignment_due"], first_assigned, ward_today())
            if first_assigned or row["status"] == domain.Status.RECEIVED else False
        ),
        "parties": [
            {"position": i, "display_name": p.display_name, "resident_id": p.resident_id}
            for i, p in enumerate(parties, start=1)
        ],
        "mediators": [
            {"mediator_id": m["mediator_id"], "full_name": m["full_name"], "chosen_by_parties": m["chosen_by_parties"],
             "assigned_on": m["assigned_on"], "late": m["late"]}
            for m in mediators
        ],
        "sessions": [
            {"session_id": s["session_id"], "held_at": s["held_at"], "place": s["place"],
             "mediator_ids": s["mediator_ids"], "parties_present": s["parties_present"], "invitees": s["invitees"],
             "notes": s["notes"]}
            for s in await repository.sessions(conn, case_id)
        ],
        "refusal": ({"ground": row["refusal_ground"], "reason": row["refusal_reason"]}
                    if row["refusal_ground"] else None),
        "agreement": ({"text": row["agreement"], "carry_out_how": row["carry_out_how"],
                       "carry_out_by": row["carry_out_by"]} if row["agreement"] else None),
        "demands": row["demands"],
        "directed_to": row["directed_to"],
        "withdrawal_reason": row["withdrawal_reason"],
        "concluded_on": row["concluded_on"],
        "follow_ups": [
            {"checked_on": f["checked_on"], "progress": f["progress"], "notes": f["notes"]}
            for f in await repository.follow_ups(conn, case_id)
        ],
    }


async def team_view(conn: asyncpg.Connection, row: asyncpg.Record) -> dict[str, Any]:
    members = await repository.members(conn, row["team_id"])
    issues = domain.team_compliance(members)
    return {
        "team_id": row["team_id"],
        "group_id": row["group_id"],
        "name": row["name"],
        "compliant": not issues,
        "compliance_issues": issues,
        "registry_compliant": row["registry_compliant"],
        "mediators": [{"resident_id": m.resident_id, "full_name": m.full_name, "sex": m.sex, "role": m.role}
                      for m in members],
    }
