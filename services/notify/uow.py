"""The notify service's unit of work on PostgreSQL: its repositories on the transaction's connection."""

from __future__ import annotations

from services.notify.handlers import NotifyConfig
from services.notify.repository import (
    ContactRepository,
    DeliveryRepository,
    NotificationRepository,
    PeopleRepository,
    PreferenceRepository,
    ProjectionRepository,
)
from shared.application import PgContext, PgUnitOfWork


class NotifyUnitOfWork(PgUnitOfWork):
    people: PeopleRepository
    projections: ProjectionRepository
    notifications: NotificationRepository
    deliveries: DeliveryRepository
    contacts: ContactRepository
    preferences: PreferenceRepository

    def __init__(self, ctx: PgContext, conn=None, *, config: NotifyConfig,  # type: ignore[no-untyped-def]
                 read_only: bool = False) -> None:
        super().__init__(ctx, conn, read_only=read_only)
        self.config = config  # links, time zone, warning days, the contact sealer

    def bind(self, conn) -> None:  # type: ignore[no-untyped-def]
        self.people = PeopleRepository(conn)
        self.projections = ProjectionRepository(conn)
        self.notifications = NotificationRepository(conn)
        self.deliveries = DeliveryRepository(conn)
        self.contacts = ContactRepository(conn)
        self.preferences = PreferenceRepository(conn)
