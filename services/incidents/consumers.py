"""Handlers of other services' events: the projections incidents needs, and the mediation outcome.

Events from other services are untrusted: every projection is keyed by the other service's ids and scoped to
the event's ward (an upsert never moves a row to another ward), and handlers are idempotent by construction.
"""

from __future__ import annotations

from typing import Any

from services.incidents.handlers import referred_incident, return_to_police, settle_by_mediation
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


# -- registry -----------------------------------------------------------------------------------------------------
async def on_group_created(e: GroupCreated, uow: Any) -> None:
    await uow.projections.upsert_group(e.group_id, e.ward_id, e.name)


async def on_team_formed(e: TeamFormed, uow: Any) -> None:
    await uow.projections.upsert_team(e.team_id, e.ward_id, e.group_id, e.kind, e.name)


async def on_facility_registered(e: FacilityRegistered, uow: Any) -> None:
    if e.kind == "security_camera":  # fire points are not evidence sources
        await uow.projections.upsert_camera(e.facility_id, e.ward_id, e.group_id, e.name, e.location)
        await uow.evidence.set_camera_campaign(e.facility_id, e.ward_id, e.funded_by_campaign_id)


async def on_facility_decommissioned(e: FacilityDecommissioned, uow: Any) -> None:
    if e.kind == "security_camera":
        await uow.projections.decommission_camera(e.facility_id, e.ward_id, e.decommissioned_on)


async def on_residence_registered(e: TemporaryResidenceRegistered, uow: Any) -> None:
    await uow.projections.upsert_residence(e.declaration_id, e.ward_id, e.group_id, e.resident_id, e.valid_until,
                                "active", e.valid_from)


async def on_residence_renewed(e: TemporaryResidenceRenewed, uow: Any) -> None:
    await uow.projections.upsert_residence(e.declaration_id, e.ward_id, e.group_id, e.resident_id, e.valid_until,
                                "active", None)


async def on_residence_expired(e: TemporaryResidenceExpired, uow: Any) -> None:
    await uow.projections.upsert_residence(e.declaration_id, e.ward_id, e.group_id, e.resident_id, None, "expired",
                                e.expired_on)


async def on_residence_ended(e: TemporaryResidenceEnded, uow: Any) -> None:
    await uow.projections.upsert_residence(e.declaration_id, e.ward_id, e.group_id, e.resident_id, None, "ended",
                                e.ended_on)


async def on_stay_notified(e: StayNotified, uow: Any) -> None:
    await uow.projections.add_stay_notice({
        "notice_id": e.notice_id, "ward_id": e.ward_id, "group_id": e.group_id,
        "boarding_house_id": e.boarding_house_id, "arrived_at": e.arrived_at, "notified_at": e.notified_at,
        "late": e.late,
    })


# -- mediation ----------------------------------------------------------------------------------------------------
def _case_row(e: CaseOpened | CaseSucceeded | CaseFailed | CaseRefused | CaseWithdrawn, status: str) -> dict:
    return {"case_id": e.case_id, "ward_id": e.ward_id, "group_id": e.group_id, "kind": e.kind,
            "referral_incident_id": e.referral_incident_id, "status": status, "last_event_at": e.occurred_at}


async def on_case_opened(e: CaseOpened, uow: Any) -> None:
    await uow.projections.upsert_mediation_case({**_case_row(e, "open"), "origin": e.origin, "opened_at": e.occurred_at})
    inc = await referred_incident(uow, e.referral_incident_id, e.ward_id)
    if inc is not None:
        await uow.incidents.update(inc["incident_id"], mediation_case_id=e.case_id)


async def on_case_succeeded(e: CaseSucceeded, uow: Any) -> None:
    await uow.projections.upsert_mediation_case({**_case_row(e, "succeeded"), "concluded_on": e.concluded_on})
    inc = await referred_incident(uow, e.referral_incident_id, e.ward_id)
    if inc is not None:
        await settle_by_mediation(uow, inc, e.case_id)


async def on_case_failed(e: CaseFailed, uow: Any) -> None:
    await uow.projections.upsert_mediation_case({**_case_row(e, "failed"), "concluded_on": e.concluded_on})
    inc = await referred_incident(uow, e.referral_incident_id, e.ward_id)
    if inc is not None:
        await return_to_police(uow, inc, e.case_id,
                                           f"mediation failed; the parties were directed to {e.directed_to}")


async def on_case_refused(e: CaseRefused, uow: Any) -> None:
    await uow.projections.upsert_mediation_case(_case_row(e, "refused"))
    inc = await referred_incident(uow, e.referral_incident_id, e.ward_id)
    if inc is not None:
        await return_to_police(uow, inc, e.case_id, f"mediation refused: {e.reason}")


async def on_case_withdrawn(e: CaseWithdrawn, uow: Any) -> None:
    await uow.projections.upsert_mediation_case({**_case_row(e, "withdrawn"), "concluded_on": e.withdrawn_on})
    inc = await referred_incident(uow, e.referral_incident_id, e.ward_id)
    if inc is not None:
        await return_to_police(uow, inc, e.case_id, "the mediation request was withdrawn")


# -- awards -------------------------------------------------------------------------------------------------------
async def on_award_granted(e: AwardGranted, uow: Any) -> None:
    if e.recipient_kind != "reporter":
        return  # individuals and collectives are shown by awards itself
    await uow.projections.add_reporter_award({
        "award_id": e.award_id, "ward_id": e.ward_id, "reporter_ref": e.recipient_ref, "title": e.title,
        "issuer": e.issuer, "decision_number": e.decision_number, "decision_date": e.decision_date,
        "verification_code": e.verification_code, "year": e.year,
    })


async def on_award_revoked(e: AwardRevoked, uow: Any) -> None:
    if e.recipient_kind == "reporter":
        await uow.projections.revoke_reporter_award(e.award_id, e.ward_id)


#: Registered in bootstrap with ``application.on_events``: each runs in a unit of work on the consumer's
#: transaction, so its effects, its events and the inbox row commit together.
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


# -- residents' groups (issue 17: assisted intake) ---------------------------------------------------------------------
from shared.contracts.registry import ResidentMoved, ResidentRegistered  # noqa: E402 - appended


async def on_resident_registered(e: ResidentRegistered, uow: Any) -> None:
    """Only which group the resident lives in: never the name the event carries."""
    await uow.assisted.upsert_resident(e.resident_id, e.ward_id, e.group_id, e.occurred_at)


async def on_resident_moved(e: ResidentMoved, uow: Any) -> None:
    await uow.assisted.upsert_resident(e.resident_id, e.ward_id, e.group_id, e.occurred_at)


HANDLERS.update({ResidentRegistered: on_resident_registered, ResidentMoved: on_resident_moved})
