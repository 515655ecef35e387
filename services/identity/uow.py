"""The identity service's unit of work on PostgreSQL: its repositories on the transaction's connection, and what
seals second-factor secrets (services/identity/credentials.py)."""

from __future__ import annotations

import asyncpg

from services.identity.repository import AccountRepository, RefreshTokenRepository, ResetCodeRepository
from shared.application import PgContext, PgUnitOfWork
from shared.idempotency import Sealer


class IdentityUnitOfWork(PgUnitOfWork):
    accounts: AccountRepository
    reset_codes: ResetCodeRepository
    refresh_tokens: RefreshTokenRepository

    def __init__(self, ctx: PgContext, conn: asyncpg.Connection | None = None, *, read_only: bool = False,
                 totp_sealer: Sealer | None = None) -> None:
        super().__init__(ctx, conn, read_only=read_only)
        self.totp_sealer = totp_sealer

    def bind(self, conn: asyncpg.Connection) -> None:
        self.accounts = AccountRepository(conn)
        self.reset_codes = ResetCodeRepository(conn)
        self.refresh_tokens = RefreshTokenRepository(conn)
