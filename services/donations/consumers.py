"""Event handlers of the donations service: its projections of the registry's events (the teams and their members,
the households of each group), each run in a unit of work joining the consumer's inbox transaction
(``Application.on_events``)."""

from __future__ import annotations

from services.donations.uow import DonationsUnitOfWork
from shared.contracts.registry import (
    HouseholdHeadChanged,
    HouseholdRegistered,
    TeamFormed,
    TeamMemberJoined,
    TeamMemberLeft,
    TeamMemberRoleChanged,
)

Uow = DonationsUnitOfWork  # or its fake: the same repositories


# -- projections of the registry's events ---------------------------------------------------------------------
# Teams of every kind are kept so that choosing a wrong team gets a precise answer. Idempotent by construction
# (upserts keyed by ids); every team event repeats the team's facts, so the order of first sight does not matter.
async def _known_team(uow: Uow, event: TeamFormed | TeamMemberJoined | TeamMemberLeft | TeamMemberRoleChanged,
                      name: str | None) -> None:
    ward = await uow.teams.ward_of(event.team_id)
    if ward is not None and ward != event.ward_id:
        # An event moving a team to another ward is not something the registry does: refuse it loudly.
        raise ValueError("team event for a team of another ward")
    await uow.teams.upsert(team_id=event.team_id, ward_id=event.ward_id, group_id=event.group_id,
                           kind=event.kind, name=name)


async def on_team_formed(event: TeamFormed, uow: Uow) -> None:
    await _known_team(uow, event, event.name)


async def on_member_joined(event: TeamMemberJoined | TeamMemberRoleChanged, uow: Uow) -> None:
    await _known_team(uow, event, None)
    await uow.teams.set_member(team_id=event.team_id, resident_id=event.resident_id, full_name=event.full_name,
                               role=event.role, active=True)


async def on_member_left(event: TeamMemberLeft, uow: Uow) -> None:
    await _known_team(uow, event, None)
    await uow.teams.set_member(team_id=event.team_id, resident_id=event.resident_id, full_name=event.full_name,
                               role=event.role, active=False)


async def on_household(event: HouseholdRegistered | HouseholdHeadChanged, uow: Uow) -> None:
    """A household of a group (both events name it and its group: whichever arrives first counts it, once)."""
    await uow.households.add(household_id=event.household_id, ward_id=event.ward_id, group_id=event.group_id)


HANDLERS = {
    TeamFormed: on_team_formed,
    TeamMemberJoined: on_member_joined,
    TeamMemberRoleChanged: on_member_joined,
    TeamMemberLeft: on_member_left,
    HouseholdRegistered: on_household,
    HouseholdHeadChanged: on_household,
}
