"""Composition root of the registry service: settings -> runtime, application (handlers over its unit of work),
consumers, jobs, routes -> FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from services.registry import api_areas, api_people, api_places, api_residence, api_teams, consumers, handlers
from services.registry.handlers_residence import expire_temporary_residences
from services.registry.uow import RegistryUnitOfWork
from shared.application import Application, PgContext
from shared.contracts import registry as events
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

PUBLISHES = [
    events.WardRegistered, events.GroupCreated, events.PublicGroupCreated,
    events.HouseholdRegistered, events.HouseholdHeadChanged,
    events.ResidentRegistered, events.ResidentMoved, events.ResidentUpdated,
    events.TeamFormed, events.PublicTeamFormed, events.TeamMemberJoined, events.TeamMemberLeft,
    events.TeamMemberRoleChanged,
    events.FacilityRegistered, events.PublicFacilityRegistered, events.FacilityDecommissioned,
    events.BoardingHouseRegistered, events.BoardingHouseChecked,
    events.TemporaryResidenceRegistered, events.TemporaryResidenceRenewed, events.TemporaryResidenceExpired,
    events.TemporaryResidenceEnded, events.AbsenceDeclared, events.StayNotified,
    events.GroupAreaSet,
]

#: How often the expiry check runs. Daily would do for dates; hourly keeps the lag small after a restart.
EXPIRY_INTERVAL_S = 3600


def build(settings: ServiceSettings) -> FastAPI:
    runtime = ServiceRuntime(
        settings,
        publishes=PUBLISHES,
        description="The registry (danh bạ): wards, groups, households, residents, teams, facilities, boarding "
        "houses and residence declarations.",
    )
    runtime.application = Application(
        "registry",
        lambda conn=None, *, read_only=False: RegistryUnitOfWork(PgContext.from_runtime(runtime), conn,
                                                                 read_only=read_only, pii=runtime.pii),
        handlers.HANDLERS)
    runtime.consume(runtime.application.on_events(consumers.HANDLERS))
    runtime.every("expire-temporary-residences", EXPIRY_INTERVAL_S,
                  runtime.application.job("expire-temporary-residences", expire_temporary_residences))
    # api_areas first: its /v1/groups/areas must not be taken for api_people's /v1/groups/{group_id}
    return create_app(runtime, [api_areas.router, api_people.router, api_teams.router, api_places.router,
                                api_residence.router], title="registry")
