"""Handlers of other services' events: the projections incidents needs, and the mediation outcome.

Events from other services are untrusted: every projection is keyed by the other service's ids and scoped to
the event's ward (an upsert never moves a row to another ward), and handlers are idempotent by construction.
"""

from __future__ import annotations

import asyncpg

from services.incidents import commands
from services.incidents import repository as repo
from services.incidents.domain import State
from shared.contracts.awards import AwardGranted, AwardRevoked
from shared.contracts.mediation import CaseFailed, CaseOpened, CaseRefused, CaseSucceeded, CaseWithdrawn
from shared.contracts.registry import (
    FacilityDecommissioned,
    FacilityRegistered,
    GroupCreated,
    StayNotified,
    TeamFormed,
    TemporaryResidenceEnded,
    TemporaryResidenceExpired,
    TemporaryResidenceRegistered,
    TemporaryResidenceRenewed,
)

Conn = asyncpg.Connection


# -- registry -----------------------------------------------------------------------------------------------------
async def on_group_created(conn: Conn, e: GroupCreated) -> None:
    await repo.upsert_group(conn, e.group_id, e.ward_id, e.name)


async def on_team_formed(conn: Conn, e: TeamFormed) -> None:
    await repo.upsert_team(conn, e.team_id, e.ward_id, e.group_id, e.kind, e.name)


async def on_facility_registered(conn: Conn, e: FacilityRegistered) -> None:
    if e.kind == "security_camera":  # fire points are not evidence sources
        await repo.upsert_camera(conn, e.facility_id, e.ward_id, e.group_id, e.name, e.location)


async def on_facility_decommissioned(conn: Conn, e: FacilityDecommissioned) -> None:
    if e.kind == "security_camera":
        await repo.decommission_camera(conn, e.facility_id, e.ward_id, e.decommissioned_on)


async def on_residence_registered(conn: Conn, e: TemporaryResidenceRegistered) -> None:
    await repo.upsert_residence(conn, e.declaration_id, e.ward_id, e.group_id, e.resident_id, e.valid_until,
                                "active", e.valid_from)


async def on_residence_renewed(conn: Conn, e: TemporaryResidenceRenewed) -> None:
    await repo.upsert_residence(conn, e.declaration_id, e.ward_id, e.group_id, e.resident_id, e.valid_until,
                                "active", None)


async def on_residence_expired(conn: Conn, e: TemporaryResidenceExpired) -> None:
    await repo.upsert_residence(conn, e.declaration_id, e.ward_id, e.group_id, e.resident_id, None, "expired",
                                e.expired_on)


async def on_residence_ended(conn: Conn, e: TemporaryResidenceEnded) -> None:
    await repo.upsert_residence(conn, e.declaration_id, e.ward_id, e.group_id, e.resident_id, None, "ended",
                                e.ended_on)


async def on_stay_notified(conn: Conn, e: StayNotified) -> None:
    await repo.upsert_stay_notice(conn, {
        "notice_id": e.notice_id, "ward_id": e.ward_id, "group_id": e.group_id,
        "boarding_house_id": e.boarding_house_id, "arrived_at": e.arrived_at, "notified_at": e.notified_at,
        "late": e.late,
    })


# -- mediation ----------------------------------------------------------------------------------------------------
def _case_row(e: CaseOpened | CaseSucceeded | CaseFailed | CaseRefused | CaseWithdrawn, status: str) -> dict:
    return {"case_id": e.case_id, "ward_id": e.ward_id, "group_id": e.group_id, "kind": e.kind,
            "referral_incident_id": e.referral_incident_id, "status": status, "last_event_at": e.occurred_at}


async def _referred_incident(conn: Conn, e: CaseOpened | CaseSucceeded | CaseFailed | CaseRefused | CaseWithdrawn):
    """The incident this case was referred from, if it is ours (same ward) and still awaits the outcome."""
    if not e.referral_incident_id:
        return None
    inc = await repo.get_incident(conn, e.referral_incident_id, for_update=True)
    if inc is None or inc["ward_id"] != e.ward_id:
        return None
    if inc["state"] != State.RESOLVED or inc["outcome"] != "referred_to_mediation":
        return None  # already settled (a repeat, or the incident was handled otherwise meanwhile)
    return inc


async def on_case_opened(conn: Conn, e: CaseOpened) -> None:
    await repo.upsert_mediation_case(conn, {**_case_row(e, "open"), "origin": e.origin, "opened_at": e.occurred_at})
    inc = await _referred_incident(conn, e)
    if inc is not None:
        await repo.update_incident(conn, inc["incident_id"], mediation_case_id=e.case_id)


async def on_case_succeeded(conn: Conn, e: CaseSucceeded) -> None:
    await repo.upsert_mediation_case(conn, {**_case_row(e, "succeeded"), "concluded_on": e.concluded_on})
    inc = await _referred_incident(conn, e)
    if inc is not None:
        await commands.mediation_succeeded(conn, inc, e.case_id)


async def on_case_failed(conn: Conn, e: CaseFailed) -> None:
    await repo.upsert_mediation_case(conn, {**_case_row(e, "failed"), "concluded_on": e.concluded_on})
    inc = await _referred_incident(conn, e)
    if inc is not None:
        await commands.mediation_gave_back(conn, inc, e.case_id,
                                           f"mediation failed; the parties were directed to {e.directed_to}")


async def on_case_refused(conn: Conn, e: CaseRefused) -> None:
    await repo.upsert_mediation_case(conn, _case_row(e, "refused"))
    inc = await _referred_incident(conn, e)
    if inc is not None:
        await commands.mediation_gave_back(conn, inc, e.case_id, f"mediation refused: {e.reason}")


async def on_case_withdrawn(conn: Conn, e: CaseWithdrawn) -> None:
    await repo.upsert_mediation_case(conn, {**_case_row(e, "withdrawn"), "concluded_on": e.withdrawn_on})
    inc = await _referred_incident(conn, e)
    if inc is not None:
        await commands.mediation_gave_back(conn, inc, e.case_id, "the mediation request was withdrawn")


# -- awards -------------------------------------------------------------------------------------------------------
async def on_award_granted(conn: Conn, e: AwardGranted) -> None:
    if e.recipient_kind != "reporter":
        return  # individuals and collectives are shown by awards itself
    await repo.upsert_reporter_award(conn, {
        "award_id": e.award_id, "ward_id": e.ward_id, "reporter_ref": e.recipient_ref, "title": e.title,
        "issuer": e.issuer, "decision_number": e.decision_number, "decision_date": e.decision_date,
        "verification_code": e.verification_code, "year": e.year,
    })


async def on_award_revoked(conn: Conn, e: AwardRevoked) -> None:
    if e.recipient_kind == "reporter":
        await repo.revoke_reporter_award(conn, e.award_id, e.ward_id)


HANDLERS = {
    GroupCreated: on_group_created,
    TeamFormed: on_team_formed,
    FacilityRegistered: on_facility_registered,
    FacilityDecommissioned: on_facility_decommissioned,
    TemporaryResidenceRegistered: on_residence_registered,
    TemporaryResidenceRenewed: on_residence_renewed,
    TemporaryResidenceExpired: on_residence_expired,
    TemporaryResidenceEnded: on_residence_ended,
    StayNotified: on_stay_notified,
    CaseOpened: on_case_opened,
    CaseSucceeded: on_case_succeeded,
    CaseFailed: on_case_failed,
    CaseRefused: on_case_refused,
    CaseWithdrawn: on_case_withdrawn,
    AwardGranted: on_award_granted,
    AwardRevoked: on_award_revoked,
}
