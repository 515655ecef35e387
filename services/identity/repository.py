"""SQL of the identity schema: accounts, reset codes, refresh tokens.

Rows come back as plain dicts; the in-memory fakes of tests/identity/fakes.py answer the same, and one handler suite
runs over both. This service encrypts no personal data with the personal-data keys (its one sealed column, the
second-factor secret, is under IDENTITY_KEY), so it declares no ``ENCRYPTED_COLUMNS``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from shared.errors import Conflict
from shared.paging import Keyset, PageRequest

ACCOUNTS_BY_CREATION = Keyset.of("created_at:timestamptz", "account_id:text")
#: The columns of an account that may be changed (``update``).
MUTABLE = frozenset({"roles", "team_ids", "password_hash", "status", "failed_attempts", "lockouts", "locked_until",
                     "totp_secret", "totp_confirmed", "totp_last_step"})
Row = dict[str, Any]
_ACCOUNT = "SELECT * FROM accounts WHERE account_id = $1"
_ACCOUNT_FOR_UPDATE = _ACCOUNT + " FOR UPDATE"


def _dict(row: asyncpg.Record | None) -> Row | None:
    return None if row is None else dict(row)


class AccountRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, account: Row) -> None:
        try:
            await self.conn.execute(
                """INSERT INTO accounts (account_id, ward_id, username, display_name, roles, resident_id,
                   household_id, team_ids, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
                account["account_id"], account["ward_id"], account["username"], account["display_name"],
                account["roles"], account["resident_id"], account["household_id"], account["team_ids"],
                account["created_by"])
        except asyncpg.UniqueViolationError as exc:
            raise Conflict("this sign-in name is taken") from exc

    async def get(self, account_id: str, *, for_update: bool = False) -> Row | None:
        sql = _ACCOUNT_FOR_UPDATE if for_update else _ACCOUNT
        return _dict(await self.conn.fetchrow(sql, account_id))

    async def by_username(self, username: str) -> Row | None:
        """For sign-in: locked, so concurrent attempts count one after the other."""
        return _dict(await self.conn.fetchrow(
            "SELECT * FROM accounts WHERE lower(username) = lower($1) FOR UPDATE", username))

    async def update(self, account_id: str, **fields: Any) -> None:
        assert set(fields) <= MUTABLE, set(fields) - MUTABLE
        names = list(fields)
        sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
        await self.conn.execute(f"UPDATE accounts SET {sets}, updated_at = now() WHERE account_id = $1",  # noqa: S608 - names from MUTABLE
                                account_id, *(fields[n] for n in names))

    async def every(self, ward_id: str | None) -> list[Row]:
        """Every account (of a ward), oldest first: for announcing them all (``AnnounceAccounts``)."""
        rows = await self.conn.fetch("SELECT * FROM accounts WHERE $1::text IS NULL OR ward_id = $1 "
                                     "ORDER BY created_at, account_id", ward_id)
        return [dict(r) for r in rows]

    async def page(self, ward_id: str | None, page: PageRequest) -> list[Row]:
        args: list[Any] = []
        where = []
        if ward_id is not None:
            args.append(ward_id)
            where.append("ward_id = $1")
        rows = await self.conn.fetch(ACCOUNTS_BY_CREATION.query("SELECT * FROM accounts", where, args, page), *args)
        return [dict(r) for r in rows]


class ResetCodeRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, code_hash: str, account_id: str, expires_at: datetime, created_by: str) -> None:
        await self.conn.execute(
            "INSERT INTO reset_codes (code_hash, account_id, expires_at, created_by) VALUES ($1, $2, $3, $4)",
            code_hash, account_id, expires_at, created_by)

    async def get(self, code_hash: str) -> Row | None:
        return _dict(await self.conn.fetchrow("SELECT * FROM reset_codes WHERE code_hash = $1 FOR UPDATE",
                                              code_hash))


    async def void_all(self, account_id: str, at: datetime) -> None:
        """Every open code of the account is used up (a new one replaces them; a password set ends them)."""
        await self.conn.execute("UPDATE reset_codes SET used_at = $2 WHERE account_id = $1 AND used_at IS NULL",
                                account_id, at)


class RefreshTokenRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, token: Row) -> None:
        await self.conn.execute(
            """INSERT INTO refresh_tokens (token_hash, family_id, account_id, expires_at, family_expires_at)
               VALUES ($1, $2, $3, $4, $5)""",
            token["token_hash"], token["family_id"], token["account_id"], token["expires_at"],
            token["family_expires_at"])

    async def get(self, token_hash: str) -> Row | None:
        return _dict(await self.conn.fetchrow("SELECT * FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
                                              token_hash))

    async def use(self, token_hash: str, at: datetime) -> None:
        await self.conn.execute("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1", token_hash, at)

    async def revoke_family(self, family_id: str, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL", family_id, at)

    async def revoke_account(self, account_id: str, at: datetime) -> None:
        await self.conn.execute(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL", account_id, at)
