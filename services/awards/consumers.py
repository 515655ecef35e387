"""Event handlers of the awards service: the names projection and the achievements (thành tích), from the other
services' events.

Each ``on_<x>(event, uow)`` runs in a unit of work that joins the consumer's inbox transaction
(``Application.on_events``), so its effects, the events it emits and the inbox row commit together. Facts are keyed
by what they are (a case, an incident, a contribution), not by the event id, so a fact that arrives twice under
different event ids still counts once; each fact keeps the id of the event that proves it. When an achievement
changes, this service publishes ``AchievementRecorded`` with its evidence.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.awards import domain
from shared.contracts.awards import MAX_EVIDENCE_IN_EVENT, AchievementRecorded
from shared.contracts.donations import (
    CampaignTargetReached,
    CampaignTeamCredited,
    ContributionRecorded,
    ContributionReversed,
)
from shared.contracts.incidents import IncidentResolved
from shared.contracts.mediation import CaseSucceeded
from shared.contracts.registry import (
    FacilityRegistered,
    GroupCreated,
    ResidentRegistered,
    ResidentUpdated,
    TeamFormed,
    TeamMemberJoined,
    TeamMemberLeft,
    WardRegistered,
)
from shared.events import Event


async def credit(uow: Any, event: Event, *, kind: str, holder_kind: str, holder_ref: str, year: int,
                 fact_key: str, group_id: str | None = None, scope: str = "", weight: int = 1,
                 amount_vnd: int = 0) -> None:
    """Record one fact of an achievement, and publish the achievement if it changed."""
    aid = domain.achievement_id(event.ward_id, kind, holder_kind, holder_ref, year, scope)
    await uow.achievements.ensure(aid, event.ward_id, kind, holder_kind, holder_ref, group_id, year, scope)
    await add_to(uow, event, aid, fact_key, weight, amount_vnd)


async def add_to(uow: Any, event: Event, aid: str, fact_key: str, weight: int, amount_vnd: int) -> None:
    row = await uow.achievements.add_fact(aid, fact_key, str(event.id), weight, amount_vnd)
    if row is None:
        return  # this fact is already counted
    uow.emit(AchievementRecorded(
        ward_id=row["ward_id"], subject=aid, achievement_id=aid, kind=row["kind"], holder_kind=row["holder_kind"],
        holder_ref=row["holder_ref"], group_id=row["group_id"], year=row["year"], count=row["count"],
        amount_vnd=row["amount_vnd"], evidence_event_ids=list(row["evidence_event_ids"])[-MAX_EVIDENCE_IN_EVENT:],
    ))


# -- registry: names, facilities, team activity ------------------------------------------------------------------
async def on_ward_registered(e: WardRegistered, uow: Any) -> None:
    await uow.directory.put_name(e.ward_id, "ward", e.ward_id, e.name)


async def on_resident_registered(e: ResidentRegistered, uow: Any) -> None:
    await uow.directory.put_name(e.ward_id, "resident", e.resident_id, e.full_name, group_id=e.group_id)


async def on_resident_updated(e: ResidentUpdated, uow: Any) -> None:
    await uow.directory.put_name(e.ward_id, "resident", e.resident_id, e.full_name)


async def on_group_created(e: GroupCreated, uow: Any) -> None:
    await uow.directory.put_name(e.ward_id, "group", e.group_id, e.name, group_id=e.group_id)


async def on_team_formed(e: TeamFormed, uow: Any) -> None:
    await uow.directory.put_name(e.ward_id, "team", e.team_id, e.name, team_kind=e.kind, group_id=e.group_id)
    if e.kind in domain.ACTIVITY_KIND:
        await credit(uow, e, kind=domain.ACTIVITY_KIND[e.kind], holder_kind="collective", holder_ref=e.team_id,
                     year=e.formed_on.year, fact_key="formed", group_id=e.group_id, weight=0)


async def on_member_joined(e: TeamMemberJoined, uow: Any) -> None:
    await uow.directory.put_name(e.ward_id, "resident", e.resident_id, e.full_name)
    if e.kind in domain.ACTIVITY_KIND:  # a member who joined counts towards the team's strength that year
        await credit(uow, e, kind=domain.ACTIVITY_KIND[e.kind], holder_kind="collective", holder_ref=e.team_id,
                     year=e.appointed_on.year, fact_key=f"joined:{e.resident_id}:{e.appointed_on}",
                     group_id=e.group_id)


async def on_member_left(e: TeamMemberLeft, uow: Any) -> None:
    if e.kind in domain.ACTIVITY_KIND:
        await credit(uow, e, kind=domain.ACTIVITY_KIND[e.kind], holder_kind="collective", holder_ref=e.team_id,
                     year=e.left_on.year, fact_key=f"left:{e.resident_id}:{e.left_on}", group_id=e.group_id,
                     weight=-1)


async def on_facility_registered(e: FacilityRegistered, uow: Any) -> None:
    await uow.directory.put_facility(e.ward_id, e.facility_id, e.group_id, e.kind, e.funded_by_campaign_id)


# -- mediation: successful mediations per mediator and per team ---------------------------------------------------
async def on_case_succeeded(e: CaseSucceeded, uow: Any) -> None:
    year = e.concluded_on.year
    for mediator_id in dict.fromkeys(e.mediator_ids):
        await credit(uow, e, kind="mediations_succeeded", holder_kind="individual", holder_ref=mediator_id,
                     year=year, fact_key=f"case:{e.case_id}", group_id=e.group_id)
    if e.team_id:
        await credit(uow, e, kind="mediations_succeeded", holder_kind="collective", holder_ref=e.team_id,
                     year=year, fact_key=f"case:{e.case_id}", group_id=e.group_id)


# -- incidents: solved tips per pseudonymous reporter, cameras that helped --------------------------------------
async def on_incident_resolved(e: IncidentResolved, uow: Any) -> None:
    if e.outcome != "solved":
        return
    year = domain.ward_year(e.resolved_at)
    if e.reporter_ref and e.reporter_claim_verifier:
        # What lets this reporter, and only them, put a name on their certificate later.
        await uow.directory.keep_claim_verifier(e.ward_id, e.reporter_ref, e.reporter_claim_verifier)
    if e.is_crime_tip and e.reporter_ref:
        await credit(uow, e, kind="tips_solved", holder_kind="reporter", holder_ref=e.reporter_ref, year=year,
                     fact_key=f"incident:{e.incident_id}", group_id=e.group_id)
    if e.camera_footage_used:
        # The residential group whose cameras (bought with its residents' money) helped crack the case.
        groups = {await uow.directory.facility_group(e.ward_id, cid) or e.group_id for cid in e.camera_ids} or {e.group_id}
        for group_id in sorted(groups):
            await credit(uow, e, kind="cameras_helped", holder_kind="collective", holder_ref=group_id, year=year,
                         fact_key=f"incident:{e.incident_id}", group_id=group_id)


# -- donations: collections per mobilisation team, campaigns that reached target --------------------------------
def _day(received_on: date | None, e: Event) -> int:
    return received_on.year if received_on else domain.ward_year(e.occurred_at)


async def on_contribution_recorded(e: ContributionRecorded, uow: Any) -> None:
    if not e.team_id:
        return  # given directly, not collected by a mobilisation team: nobody to credit
    await credit(uow, e, kind="collections", holder_kind="collective", holder_ref=e.team_id,
                 year=_day(e.received_on, e), fact_key=f"contribution:{e.contribution_id}", group_id=e.group_id,
                 amount_vnd=e.amount_vnd)


async def on_contribution_reversed(e: ContributionReversed, uow: Any) -> None:
    # The reversal counts against the achievement that holds the original contribution (same team, same year).
    held = await uow.achievements.holding_fact(e.ward_id, "collections", f"contribution:{e.contribution_id}")
    if held is not None:
        await add_to(uow, e, held, f"reversal:{e.reversal_id}", -1, -e.amount_vnd)
    elif e.team_id:
        await credit(uow, e, kind="collections", holder_kind="collective", holder_ref=e.team_id,
                     year=domain.ward_year(e.occurred_at), fact_key=f"reversal:{e.reversal_id}", weight=-1,
                     amount_vnd=-e.amount_vnd)


async def on_target_reached(e: CampaignTargetReached, uow: Any) -> None:
    year = _day(e.reached_on, e)
    for team_id, total in sorted(e.team_totals.items()):
        if total <= 0:
            continue  # a team that collected nothing did not help reach the target
        await credit(uow, e, kind="campaign_target_reached", holder_kind="collective", holder_ref=team_id,
                     year=year, fact_key=f"campaign:{e.campaign_id}", group_id=e.group_id, scope=e.campaign_id,
                     amount_vnd=total)


async def on_team_credited(e: CampaignTeamCredited, uow: Any) -> None:
    # A team whose collection came after the target was reached helped reach it too: the same achievement as the
    # teams named in CampaignTargetReached (one per team and campaign, however often either event arrives).
    await credit(uow, e, kind="campaign_target_reached", holder_kind="collective", holder_ref=e.team_id,
                 year=_day(e.reached_on, e), fact_key=f"campaign:{e.campaign_id}", group_id=e.group_id,
                 scope=e.campaign_id, amount_vnd=e.total_vnd)


HANDLERS = {
    WardRegistered: on_ward_registered,
    ResidentRegistered: on_resident_registered,
    ResidentUpdated: on_resident_updated,
    GroupCreated: on_group_created,
    TeamFormed: on_team_formed,
    TeamMemberJoined: on_member_joined,
    TeamMemberLeft: on_member_left,
    FacilityRegistered: on_facility_registered,
    CaseSucceeded: on_case_succeeded,
    IncidentResolved: on_incident_resolved,
    ContributionRecorded: on_contribution_recorded,
    ContributionReversed: on_contribution_reversed,
    CampaignTargetReached: on_target_reached,
    CampaignTeamCredited: on_team_credited,
}
