"""The registry's unit of work on PostgreSQL: its repositories on the unit's connection, and the service's
personal-data protector (national ID numbers are encrypted and blind-indexed inside the handlers)."""

from __future__ import annotations

import asyncpg

from services.registry.repository import (
    BoardingHouseRepository,
    DeclarationRepository,
    FacilityRepository,
    GroupAreaRepository,
    GroupRepository,
    HouseholdRepository,
    ResidentRepository,
    StayNoticeRepository,
    TeamRepository,
    WardRepository,
)
from shared.application import PgContext, PgUnitOfWork
from shared.crypto import PersonalDataProtector


class RegistryUnitOfWork(PgUnitOfWork):
    def __init__(self, ctx: PgContext, conn: asyncpg.Connection | None = None, *, read_only: bool = False,
                 pii: PersonalDataProtector) -> None:
        super().__init__(ctx, conn, read_only=read_only)
        self.pii = pii

    def bind(self, conn: asyncpg.Connection) -> None:
        self.wards = WardRepository(conn)
        self.groups = GroupRepository(conn)
        self.households = HouseholdRepository(conn)
        self.residents = ResidentRepository(conn)
        self.teams = TeamRepository(conn)
        self.facilities = FacilityRepository(conn)
        self.boarding_houses = BoardingHouseRepository(conn)
        self.declarations = DeclarationRepository(conn)
        self.stay_notices = StayNoticeRepository(conn)
        self.group_areas = GroupAreaRepository(conn)
