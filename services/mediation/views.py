"""The JSON shapes of a case and a team, as the API returns them (schemas.CaseOut, schemas.TeamOut). Pure: the
repository loads, these render."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from services.mediation import domain
from services.mediation.domain import CaseFile, Member


def case_view(file: CaseFile, today: date) -> dict[str, Any]:
    row = file.case
    first_assigned = min((m["assigned_on"] for m in file.mediators), default=None)
    return {
        "case_id": row["case_id"],
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
        "assignment_late": domain.case_assignment_late(row, first_assigned, today),
        "parties": [
            {"position": i, "display_name": p.display_name, "resident_id": p.resident_id}
            for i, p in enumerate(file.parties, start=1)
        ],
        "mediators": [
            {"mediator_id": m["mediator_id"], "full_name": m["full_name"], "chosen_by_parties": m["chosen_by_parties"],
             "assigned_on": m["assigned_on"], "late": m["late"]}
            for m in file.mediators
        ],
        "sessions": [
            {"session_id": s["session_id"], "held_at": s["held_at"], "place": s["place"],
             "mediator_ids": s["mediator_ids"], "parties_present": s["parties_present"], "invitees": s["invitees"],
             "notes": s["notes"]}
            for s in file.sessions
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
            for f in file.follow_ups
        ],
    }


def team_view(team: Mapping[str, Any], members: list[Member]) -> dict[str, Any]:
    issues = domain.team_compliance(members)
    return {
        "team_id": team["team_id"],
        "group_id": team["group_id"],
        "name": team["name"],
        "compliant": not issues,
        "compliance_issues": issues,
        "registry_compliant": team["registry_compliant"],
        "mediators": [{"resident_id": m.resident_id, "full_name": m.full_name, "sex": m.sex, "role": m.role}
                      for m in members],
    }
