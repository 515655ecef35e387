"""What an operator does with accounts from the command line (``wardctl accounts ...``): create the first official
of a ward (or of the city) when nobody can sign in yet to do it. The command is the same ``CreateAccount`` through
the same handler and unit of work, as an administrator named after the operator, so it is audited like any other."""

from __future__ import annotations

from typing import Any

from services.identity import handlers
from services.identity.bootstrap import totp_sealer
from services.identity.commands import AnnounceAccounts, CreateAccount
from services.identity.uow import IdentityUnitOfWork
from shared import audit
from shared.actor import ALL_WARDS, Principal, Role
from shared.application import Application, PgContext
from shared.db import create_pool
from shared.idempotency import Sealer
from shared.settings import ServiceSettings


async def _run_as_operator(settings: ServiceSettings, operator: str, command: Any) -> dict[str, Any]:
    """One command through the service's handler and unit of work, as an administrator named after the operator."""
    pool = await create_pool(settings.database_url, settings.service_name, min_size=1, max_size=1)
    try:
        ctx = PgContext(pool, settings.service_name, audit.AuditKeys.from_settings(settings),
                        Sealer(settings.service_name, settings.idempotency_key.get_secret_value()))
        sealer = totp_sealer(settings)
        application = Application(settings.service_name, lambda conn=None, *, read_only=False: IdentityUnitOfWork(
            ctx, conn, read_only=read_only, totp_sealer=sealer), handlers.HANDLERS)
        actor = Principal(f"operator:{operator}", frozenset({Role.ADMIN}), ALL_WARDS)
        return await application.run(command, actor)
    finally:
        await pool.close()


async def create_official(settings: ServiceSettings, operator: str, *, ward: str, username: str, display_name: str,
                          role: str) -> dict[str, Any]:
    return await _run_as_operator(settings, operator, CreateAccount(ward_id=ward, username=username,
                                                                    display_name=display_name, roles=[Role(role)]))


async def announce_accounts(settings: ServiceSettings, operator: str, *, ward: str | None) -> dict[str, Any]:
    """Every account's ``AccountChanged`` again (through the outbox): run once when the notify service joins a
    platform that already has accounts (docs/services/notify.md)."""
    return await _run_as_operator(settings, operator, AnnounceAccounts(ward_id=ward))
